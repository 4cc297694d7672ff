//! What a text reply says about consent (docs/contract.md §9, `POST /v1/sms/twilio`): an
//! opt-out, a re-subscribe, or neither. Since 2025-04-11 a consumer may revoke consent by any
//! reasonable means (47 CFR 64.1200(a)(10)); a reply that is, or holds as a word, one of the
//! rule's words (stop, quit, end, revoke, opt out, cancel, unsubscribe) or a common variant
//! (stopall, optout, "stop texting", "don't text", "do not call", "remove me") is an opt-out,
//! in any case, spacing or punctuation.
//!
//! The reading leans to opting out: a doubtful reply ("the end", "cancel my appointment")
//! is one. A lost lead costs less than a lawsuit, and a person can still call the number
//! back from another channel once they asked. A re-subscribe (`START`, `UNSTOP`, `YES`) is
//! only ever a whole reply, and never outweighs an opt-out word in the same reply.

/// What a reply says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// An opt-out: the rule's word or phrase it holds, as the rule writes it.
    OptOut(&'static str),
    /// A re-subscribe after an opt-out: kept as a fact, never taking the phone off.
    Resubscribe(&'static str),
    /// Neither.
    Other,
}

/// The rule's words and their common variants, each a word of its own.
const WORDS: [&str; 9] = [
    "stop",
    "quit",
    "end",
    "revoke",
    "cancel",
    "unsubscribe",
    "stopall",
    "optout",
    "unsub",
];

/// Phrases, as words in a row (an apostrophe is dropped: "don't" reads "dont").
const PHRASES: [&[&str]; 8] = [
    &["opt", "out"],
    &["stop", "texting"],
    &["dont", "text"],
    &["do", "not", "text"],
    &["dont", "call"],
    &["do", "not", "call"],
    &["remove", "me"],
    &["take", "me", "off"],
];

/// Whole replies that re-subscribe.
const RESUBSCRIBE: [&str; 3] = ["start", "unstop", "yes"];

/// The reply's words: letters and digits, lower-cased (Unicode's rules), apostrophes of any
/// kind dropped inside a word, everything else a separator.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        // An apostrophe is dropped ("don't" is "dont"); any other non-letter separates.
        let apostrophe = matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '`' | '\u{02BC}');
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if !apostrophe && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Reads a reply's text.
pub fn read_reply(text: &str) -> Reply {
    let words = words(text);
    for word in &words {
        if let Some(rule) = WORDS.iter().find(|w| **w == word.as_str()) {
            return Reply::OptOut(rule_word(rule));
        }
    }
    for phrase in PHRASES {
        if words
            .windows(phrase.len())
            .any(|run| run.iter().zip(phrase).all(|(w, p)| w == p))
        {
            return Reply::OptOut(rule_phrase(phrase));
        }
    }
    // Spelt out or run together ("S T O P", "s.t.o.p", "OptOut!", "stop-all").
    let compact: String = words.concat();
    if let Some(rule) = WORDS.iter().find(|w| **w == compact) {
        return Reply::OptOut(rule_word(rule));
    }
    for phrase in PHRASES {
        if compact == phrase.concat() {
            return Reply::OptOut(rule_phrase(phrase));
        }
    }
    match RESUBSCRIBE.iter().find(|w| **w == compact) {
        Some(word) => Reply::Resubscribe(word),
        None => Reply::Other,
    }
}

fn rule_word(word: &'static str) -> &'static str {
    match word {
        "optout" => "opt out",
        "unsub" => "unsubscribe",
        other => other,
    }
}

fn rule_phrase(phrase: &[&str]) -> &'static str {
    match phrase {
        ["opt", "out"] => "opt out",
        ["stop", "texting"] => "stop texting",
        ["dont", "text"] | ["do", "not", "text"] => "don't text",
        ["dont", "call"] | ["do", "not", "call"] => "do not call",
        ["remove", "me"] => "remove me",
        _ => "take me off",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn opts_out(text: &str) -> bool {
        matches!(read_reply(text), Reply::OptOut(_))
    }

    #[test]
    fn the_issues_replies_read_as_it_says() {
        for text in [
            "Stop please",
            "STOP!!",
            "unsubscribe me",
            "Please don't text me again",
            "Please don’t text me again",
            "stop",
            " Stop. ",
            "S T O P",
            "s.t.o.p",
            "OPT-OUT",
            "opt out",
            "OptOut",
            "stopall",
            "STOP ALL",
            "quit",
            "End",
            "revoke consent",
            "Cancel",
            "do not call this number",
            "DO NOT CALL",
            "remove me from your list",
            "stop texting me",
            "take me off your list",
            "No more. STOP",
            "Arrêtez STOP",
        ] {
            assert!(opts_out(text), "{text:?} is an opt-out");
        }
        for text in [
            "HELP",
            "START",
            "Yes",
            "What time is the appointment?",
            "",
            "   ",
            "stopped by",
        ] {
            assert!(!opts_out(text), "{text:?} is not an opt-out");
        }
        assert_eq!(read_reply("START"), Reply::Resubscribe("start"));
        assert_eq!(read_reply("unstop!"), Reply::Resubscribe("unstop"));
        assert_eq!(read_reply("yes"), Reply::Resubscribe("yes"));
        assert_eq!(
            read_reply("yes stop"),
            Reply::OptOut("stop"),
            "an opt-out word wins"
        );
        assert_eq!(read_reply("Help"), Reply::Other);
        assert_eq!(
            read_reply("Please don't text me"),
            Reply::OptOut("don't text")
        );
        assert_eq!(read_reply("opt out"), Reply::OptOut("opt out"));
    }

    fn rule_text() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "stop",
            "quit",
            "end",
            "revoke",
            "opt out",
            "cancel",
            "unsubscribe",
            "stopall",
            "optout",
            "stop texting",
            "don't text",
            "do not call",
            "remove me",
        ])
        .prop_map(str::to_owned)
    }

    /// The text in a random case, letter by letter.
    fn any_case(text: &str, upper: &[bool]) -> String {
        text.chars()
            .zip(upper.iter().cycle())
            .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c })
            .collect()
    }

    proptest! {
        #[test]
        fn no_text_makes_it_panic(text in "\\PC*") {
            let _ = read_reply(&text);
        }

        #[test]
        fn every_rule_word_is_caught_in_any_surrounding_and_case(
            rule in rule_text(),
            upper in prop::collection::vec(any::<bool>(), 1..8),
            before in "([A-Za-z0-9]{0,8}[ .,!?;:\\n\\t-]{1,3}){0,3}",
            after in "([ .,!?;:\\n\\t-]{1,3}[A-Za-z0-9]{0,8}){0,3}",
        ) {
            let text = format!("{before}{}{after}", any_case(&rule, &upper));
            prop_assert!(opts_out(&text), "{:?}", text);
        }
    }
}
