//! CSV cells a spreadsheet opens as text, never as a formula (docs/contract.md §8): a cell
//! that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, the
//! mark spreadsheets read as "this is text" (OWASP's advice on CSV injection). An E.164
//! phone (`+` and digits only) is left as it is: a spreadsheet reads it as a number, runs
//! nothing, and every machine reader of the file needs it exact.

use std::borrow::Cow;

pub fn inert(cell: &str) -> Cow<'_, str> {
    let Some(first) = cell.chars().next() else {
        return Cow::Borrowed(cell);
    };
    let phone = first == '+' && cell.len() > 1 && cell[1..].bytes().all(|b| b.is_ascii_digit());
    if matches!(first, '=' | '+' | '-' | '@' | '\t' | '\r') && !phone {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formulas_become_text_and_phones_stay_exact() {
        assert_eq!(inert("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(inert("+1+cmd|' /C calc'!A0"), "'+1+cmd|' /C calc'!A0");
        assert_eq!(inert("-2+3"), "'-2+3");
        assert_eq!(inert("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(inert("\t=1"), "'\t=1");
        assert_eq!(inert("+12025550100"), "+12025550100");
        assert_eq!(inert("campaign-7"), "campaign-7");
        assert_eq!(inert(""), "");
        assert_eq!(inert("+"), "'+");
    }

    proptest! {
        #[test]
        fn no_cell_starts_a_formula(cell in "\\PC*") {
            let out = inert(&cell);
            let phone = cell.starts_with('+') && cell.len() > 1
                && cell[1..].bytes().all(|b| b.is_ascii_digit());
            prop_assert!(phone || !out.starts_with(['=', '+', '-', '@', '\t', '\r']));
            prop_assert!(out.ends_with(cell.as_str()));
        }
    }
}
