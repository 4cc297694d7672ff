//! The register API's request bodies (docs/contract.md §9), read and checked: an opt-out a
//! company service recorded (`POST /v1/opt-outs`) and a check of up to 100 phones
//! (`POST /v1/opt-outs/check`). Pure: the entrypoint hands the bytes, and answers `400` with
//! the [`FieldError`]'s code and field.

use serde::Deserialize;
use serde_json::Value;

use crate::core::dial_list::{Country, read_phone};
use crate::core::domain::{Phone, Timestamp};

/// Where the person said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Agent,
    Sms,
    Email,
    Web,
    Mail,
    Other,
}

impl Channel {
    pub const ALL: [Self; 6] = [
        Self::Agent,
        Self::Sms,
        Self::Email,
        Self::Web,
        Self::Mail,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Sms => "sms",
            Self::Email => "email",
            Self::Web => "web",
            Self::Mail => "mail",
            Self::Other => "other",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// The longest `reference` (characters) and `note` (bytes).
pub const REFERENCE_MAX: usize = 256;
pub const NOTE_MAX: usize = 2048;
/// Phones in one check.
pub const CHECK_MAX: usize = 100;

/// An opt-out a company service recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptOutRequest {
    pub phone: Phone,
    pub channel: Channel,
    /// When the person said it (`None`: at receipt).
    pub occurred_at: Option<Timestamp>,
    /// The caller's own id of it: with the caller's principal, what makes a retry the same.
    pub reference: String,
    pub note: Option<String>,
}

/// Why a body is refused: `{"error": code, "field": field}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}{}", field.as_deref().map(|f| format!(" ({f})")).unwrap_or_default())]
pub struct FieldError {
    pub code: &'static str,
    pub field: Option<String>,
}

impl FieldError {
    fn new(code: &'static str, field: &str) -> Self {
        Self {
            code,
            field: Some(field.to_owned()),
        }
    }

    fn body(code: &'static str) -> Self {
        Self { code, field: None }
    }
}

/// The body as JSON text fields (unknown fields are allowed: a caller may send more).
#[derive(Deserialize)]
struct Fields {
    phone: Option<Value>,
    country: Option<Value>,
    channel: Option<Value>,
    #[serde(rename = "occurredAt")]
    occurred_at: Option<Value>,
    reference: Option<Value>,
    note: Option<Value>,
}

fn text<'a>(value: &'a Option<Value>, field: &str) -> Result<Option<&'a str>, FieldError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(FieldError::new("invalid_field", field)),
    }
}

fn required<'a>(value: &'a Option<Value>, field: &str) -> Result<&'a str, FieldError> {
    text(value, field)?.ok_or_else(|| FieldError::new("missing_field", field))
}

/// Reads `POST /v1/opt-outs`'s body (a phone is read as `import` and `scrub` read it: E.164,
/// or national in `country`, default US); `now` bounds `occurredAt` (not in the future, beyond
/// five minutes of clock skew).
pub fn parse_opt_out(body: &[u8], now: Timestamp) -> Result<OptOutRequest, FieldError> {
    let fields: Fields = match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => {
            serde_json::from_value(value).map_err(|_| FieldError::body("invalid_json"))?
        }
        _ => return Err(FieldError::body("invalid_json")),
    };
    let country = match text(&fields.country, "country")? {
        Some(code) => {
            Country::parse(code).map_err(|_| FieldError::new("invalid_field", "country"))?
        }
        None => Country::US,
    };
    let phone = read_phone(required(&fields.phone, "phone")?, country)
        .map_err(|_| FieldError::new("invalid_field", "phone"))?;
    let channel = Channel::parse(required(&fields.channel, "channel")?)
        .ok_or_else(|| FieldError::new("invalid_field", "channel"))?;
    let occurred_at = match text(&fields.occurred_at, "occurredAt")? {
        None => None,
        Some(at) => {
            let at =
                Timestamp::parse(at).map_err(|_| FieldError::new("invalid_field", "occurredAt"))?;
            if at.to_unix_parts().0 > now.to_unix_parts().0 + 300 {
                return Err(FieldError::new("invalid_field", "occurredAt"));
            }
            Some(at)
        }
    };
    let reference = required(&fields.reference, "reference")?;
    let length = reference.chars().count();
    if length == 0 || length > REFERENCE_MAX || reference.trim().is_empty() {
        return Err(FieldError::new("invalid_field", "reference"));
    }
    let note = text(&fields.note, "note")?;
    if note.is_some_and(|n| n.len() > NOTE_MAX) {
        return Err(FieldError::new("invalid_field", "note"));
    }
    Ok(OptOutRequest {
        phone,
        channel,
        occurred_at,
        reference: reference.to_owned(),
        note: note.map(str::to_owned),
    })
}

/// Reads `POST /v1/opt-outs/check`'s body: 1 to 100 phones, in order (a phone given twice
/// is asked once and answered twice).
pub fn parse_check(body: &[u8]) -> Result<Vec<Phone>, FieldError> {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return Err(FieldError::body("invalid_json"));
    };
    let country = match fields.get("country") {
        None | Some(Value::Null) => Country::US,
        Some(Value::String(code)) => {
            Country::parse(code).map_err(|_| FieldError::new("invalid_field", "country"))?
        }
        Some(_) => return Err(FieldError::new("invalid_field", "country")),
    };
    let phones = match fields.get("phones") {
        None | Some(Value::Null) => return Err(FieldError::new("missing_field", "phones")),
        Some(Value::Array(phones)) if (1..=CHECK_MAX).contains(&phones.len()) => phones,
        Some(_) => return Err(FieldError::new("invalid_field", "phones")),
    };
    phones
        .iter()
        .enumerate()
        .map(|(i, phone)| {
            let field = || FieldError::new("invalid_field", &format!("phones[{i}]"));
            let text = phone.as_str().ok_or_else(field)?;
            read_phone(text, country).map_err(|_| field())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> Timestamp {
        Timestamp::parse("2026-12-07T12:00:00Z").unwrap()
    }

    fn refused(body: &str) -> (&'static str, Option<String>) {
        let e = parse_opt_out(body.as_bytes(), now()).unwrap_err();
        (e.code, e.field)
    }

    #[test]
    fn an_agents_opt_out_is_read_with_its_defaults() {
        let read = parse_opt_out(
            br#"{"phone":"(202) 555-0100","channel":"agent","reference":"crm-123","extra":1}"#,
            now(),
        )
        .unwrap();
        assert_eq!(read.phone.as_str(), "+12025550100");
        assert_eq!(read.channel, Channel::Agent);
        assert_eq!(read.occurred_at, None);
        assert_eq!(read.reference, "crm-123");
        let read = parse_opt_out(
            br#"{"phone":"020 7946 0018","country":"GB","channel":"email","reference":"t-9","occurredAt":"2026-12-07T11:00:00Z","note":"by e-mail"}"#,
            now(),
        )
        .unwrap();
        assert_eq!(read.phone.as_str(), "+442079460018");
        assert_eq!(read.note.as_deref(), Some("by e-mail"));
        assert!(read.occurred_at.is_some());
    }

    #[test]
    fn each_bad_field_is_named() {
        let some = |field: &str| Some(field.to_owned());
        assert_eq!(refused("[]"), ("invalid_json", None));
        assert_eq!(refused("{"), ("invalid_json", None));
        assert_eq!(
            refused(r#"{"channel":"agent","reference":"r"}"#),
            ("missing_field", some("phone"))
        );
        assert_eq!(
            refused(r#"{"phone":"12","channel":"agent","reference":"r"}"#),
            ("invalid_field", some("phone"))
        );
        assert_eq!(
            refused(r#"{"phone":7,"channel":"agent","reference":"r"}"#),
            ("invalid_field", some("phone"))
        );
        assert_eq!(
            refused(r#"{"phone":"+12025550100","channel":"fax","reference":"r"}"#),
            ("invalid_field", some("channel"))
        );
        assert_eq!(
            refused(r#"{"phone":"+12025550100","channel":"agent"}"#),
            ("missing_field", some("reference"))
        );
        assert_eq!(
            refused(r#"{"phone":"+12025550100","channel":"agent","reference":" "}"#),
            ("invalid_field", some("reference"))
        );
        let long = "r".repeat(REFERENCE_MAX + 1);
        assert_eq!(
            refused(&format!(
                r#"{{"phone":"+12025550100","channel":"agent","reference":"{long}"}}"#
            )),
            ("invalid_field", some("reference"))
        );
        let note = "n".repeat(NOTE_MAX + 1);
        assert_eq!(
            refused(&format!(
                r#"{{"phone":"+12025550100","channel":"agent","reference":"r","note":"{note}"}}"#
            )),
            ("invalid_field", some("note"))
        );
        assert_eq!(
            refused(
                r#"{"phone":"+12025550100","channel":"agent","reference":"r","occurredAt":"yesterday"}"#
            ),
            ("invalid_field", some("occurredAt"))
        );
        assert_eq!(
            refused(
                r#"{"phone":"+12025550100","channel":"agent","reference":"r","occurredAt":"2027-01-01T00:00:00Z"}"#
            ),
            ("invalid_field", some("occurredAt"))
        );
        assert_eq!(
            refused(r#"{"phone":"+12025550100","country":"XX","channel":"agent","reference":"r"}"#),
            ("invalid_field", some("country"))
        );
    }

    #[test]
    fn a_check_reads_1_to_100_phones_in_order_and_names_the_bad_one() {
        let phones =
            parse_check(br#"{"phones":["+12025550100","202-555-0101","+12025550100"]}"#).unwrap();
        let phones: Vec<&str> = phones.iter().map(Phone::as_str).collect();
        assert_eq!(phones, ["+12025550100", "+12025550101", "+12025550100"]);
        let err = parse_check(br#"{"phones":["+12025550100","nope"]}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("phones[1]"));
        assert_eq!(
            parse_check(br#"{"phones":[]}"#)
                .unwrap_err()
                .field
                .as_deref(),
            Some("phones")
        );
        let many = format!(
            r#"{{"phones":[{}]}}"#,
            vec![r#""+12025550100""#; 101].join(",")
        );
        assert_eq!(
            parse_check(many.as_bytes()).unwrap_err().field.as_deref(),
            Some("phones")
        );
        let hundred = format!(
            r#"{{"phones":[{}]}}"#,
            vec![r#""+12025550100""#; 100].join(",")
        );
        assert_eq!(parse_check(hundred.as_bytes()).unwrap().len(), 100);
        assert_eq!(parse_check(b"{}").unwrap_err().code, "missing_field");
    }

    proptest! {
        #[test]
        fn no_body_makes_either_reader_panic(body in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_opt_out(&body, now());
            let _ = parse_check(&body);
        }

        #[test]
        fn no_json_object_makes_either_reader_panic(
            phone in "\\PC{0,20}", channel in "\\PC{0,8}", reference in "\\PC{0,20}", at in "\\PC{0,30}",
        ) {
            let body = serde_json::json!({"phone": phone, "channel": channel, "reference": reference, "occurredAt": at});
            let _ = parse_opt_out(body.to_string().as_bytes(), now());
            let check = serde_json::json!({"phones": [phone, reference]});
            let _ = parse_check(check.to_string().as_bytes());
        }
    }
}
