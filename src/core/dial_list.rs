//! Lists of phones the operator hands `call-events-dnc scrub` (a dial list) and, later,
//! `import` (a DNC list the company already keeps): which column holds the phone, and each
//! row's phone, read by one rule (docs/contract.md §8). Pure: the files are read and
//! written by the command, the register is asked through a port.
//!
//! The rule: a value already in E.164 form is taken exactly as the webhook takes
//! `data.phone` ([`Phone::parse`]), whatever a numbering plan says of it, since the
//! register must match every phone the platform can opt out; anything else (a national
//! number, or one written with spaces, dashes, brackets) is read through the numbering plan
//! of a default country (libphonenumber's metadata, the `phonenumber` crate) and must be a
//! valid number there.

use crate::core::domain::Phone;

/// The country a national number is read in: an ISO 3166 alpha-2 code (`US`, `GB`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country(phonenumber::country::Id);

impl Country {
    pub const US: Self = Self(phonenumber::country::Id::US);

    pub fn parse(code: &str) -> Result<Self, String> {
        code.trim()
            .to_ascii_uppercase()
            .parse::<phonenumber::country::Id>()
            .map(Self)
            .map_err(|_| format!("{code:?} is not an ISO 3166 country code (US, GB, DE, ...)"))
    }
}

/// Why a row's value is not a phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotAPhone {
    #[error("no phone")]
    Empty,
    #[error("invalid phone")]
    Invalid,
}

/// The phone a row's value names (see the module's rule).
pub fn read_phone(value: &str, country: Country) -> Result<Phone, NotAPhone> {
    let value = value.trim();
    if value.is_empty() {
        return Err(NotAPhone::Empty);
    }
    if let Ok(phone) = Phone::parse(value) {
        return Ok(phone);
    }
    // Letters are no phone's: libphonenumber would read vanity numbers (1-800-FLOWERS).
    if value.chars().any(char::is_alphabetic) {
        return Err(NotAPhone::Invalid);
    }
    let number = phonenumber::parse(Some(country.0), value).map_err(|_| NotAPhone::Invalid)?;
    if !phonenumber::is_valid(&number) {
        return Err(NotAPhone::Invalid);
    }
    let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
    Phone::parse(&e164).map_err(|_| NotAPhone::Invalid)
}

/// Where a list's rows hold their phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// A CSV whose first row is a header: the phone is in this column.
    Header { column: usize },
    /// One phone a line, no header: the whole line is the phone.
    OnePerLine,
}

/// The list's layout, from its first row's fields: the column named `asked` (compared
/// trimmed and case-insensitively); with no name asked, a column named `phone` if the first
/// row has one, else one phone a line when the first row is one value with a digit in it
/// (a phone, or a bad line reported with its number). A first row of several fields, or of
/// one word, is a header naming no phone column: refused, as the list cannot be read.
pub fn layout(first_row: &[String], asked: Option<&str>) -> Result<Layout, String> {
    let named = |name: &str| {
        first_row.iter().position(|field| {
            field
                .trim_start_matches('\u{feff}')
                .trim()
                .eq_ignore_ascii_case(name.trim())
        })
    };
    match asked {
        Some(name) => named(name)
            .map(|column| Layout::Header { column })
            .ok_or_else(|| format!("the first row has no column {name:?}")),
        None => match named("phone") {
            Some(column) => Ok(Layout::Header { column }),
            None => match first_row {
                [value] if value.chars().any(|c| c.is_ascii_digit()) => Ok(Layout::OnePerLine),
                _ => Err(format!(
                    "the first row ({}) is a header with no column named phone (a list is a \
                     CSV with a phone column, or one phone a line)",
                    first_row.join(",").chars().take(120).collect::<String>()
                )),
            },
        },
    }
}

/// A row's bytes without its line ending.
pub fn without_line_ending(raw: &[u8]) -> &[u8] {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    raw.strip_suffix(b"\r").unwrap_or(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read(value: &str) -> Result<String, NotAPhone> {
        read_phone(value, Country::US).map(|p| p.as_str().to_owned())
    }

    #[test]
    fn e164_is_taken_as_the_webhook_takes_it_whatever_the_numbering_plan() {
        assert_eq!(read("+12025550100").as_deref(), Ok("+12025550100"));
        // Not a number of any plan, but the platform could opt it out.
        assert_eq!(read("+999123").as_deref(), Ok("+999123"));
        assert_eq!(read(" +12025550100 ").as_deref(), Ok("+12025550100"));
    }

    #[test]
    fn national_and_formatted_numbers_are_read_in_the_default_country() {
        for written in [
            "(202) 555-0100",
            "202-555-0100",
            "2025550100",
            "+1 202 555 0100",
        ] {
            assert_eq!(read(written).as_deref(), Ok("+12025550100"), "{written}");
        }
        let gb = Country::parse("gb").unwrap();
        let phone = read_phone("020 7946 0958", gb).unwrap();
        assert_eq!(phone.as_str(), "+442079460958");
    }

    #[test]
    fn what_is_not_a_phone_is_said_so() {
        assert_eq!(read(""), Err(NotAPhone::Empty));
        assert_eq!(read("  "), Err(NotAPhone::Empty));
        for bad in [
            "not a phone",
            "1-800-FLOWERS",
            "12",
            "555-0100",
            "+0123",
            "n/a",
        ] {
            assert_eq!(read(bad), Err(NotAPhone::Invalid), "{bad}");
        }
        assert!(Country::parse("XX").is_err());
    }

    #[test]
    fn the_layout_is_the_named_column_or_a_phone_column_or_one_phone_a_line() {
        let row = |fields: &[&str]| fields.iter().map(|f| f.to_string()).collect::<Vec<_>>();
        assert_eq!(
            layout(&row(&["\u{feff}id", " Phone ", "name"]), None),
            Ok(Layout::Header { column: 1 })
        );
        assert_eq!(
            layout(&row(&["id", "mobile"]), Some("MOBILE")),
            Ok(Layout::Header { column: 1 })
        );
        assert!(layout(&row(&["id", "mobile"]), Some("phone")).is_err());
        assert_eq!(
            layout(&row(&["+12025550100"]), None),
            Ok(Layout::OnePerLine)
        );
        assert_eq!(layout(&row(&["555-01"]), None), Ok(Layout::OnePerLine));
        // A header without a phone column is not a list of phones.
        assert!(layout(&row(&["id", "mobile"]), None).is_err());
        assert!(layout(&row(&["mobile"]), None).is_err());
    }

    #[test]
    fn line_endings_come_off_and_nothing_else() {
        assert_eq!(without_line_ending(b"a,b\r\n"), b"a,b");
        assert_eq!(without_line_ending(b"a,b\n"), b"a,b");
        assert_eq!(without_line_ending(b"a,b"), b"a,b");
        assert_eq!(without_line_ending(b"a,b\r"), b"a,b");
    }

    proptest! {
        #[test]
        fn any_value_reads_to_a_phone_or_a_reason_never_a_panic(value in any::<String>()) {
            if let Ok(phone) = read_phone(&value, Country::US) {
                prop_assert!(Phone::parse(phone.as_str()).is_ok());
            }
        }
    }
}
