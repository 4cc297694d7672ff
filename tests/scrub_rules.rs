//! The scrub's verdicts (docs/contract.md §8) on the in-memory register: each row kept,
//! removed as on the register (with what the register says), or removed as no phone; the
//! register asked once per distinct phone, in batches DynamoDB takes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use call_events::adapters::MemoryDncRegister;
use call_events::core::dial_list::{Country, NotAPhone, read_phone};
use call_events::core::domain::Phone;
use call_events::core::register::RegisterEntry;
use call_events::ports::{BackendError, Listed, RegisterLookup};
use call_events::usecases::scrub::{LOOKUP_BATCH, Verdict, verdicts};

/// The in-memory register, counting what it is asked.
#[derive(Clone, Default)]
struct Counted {
    register: MemoryDncRegister,
    batches: Arc<Mutex<Vec<usize>>>,
}

impl RegisterLookup for Counted {
    async fn listed(&self, phones: &[Phone]) -> Result<HashMap<String, Listed>, BackendError> {
        self.batches.lock().unwrap().push(phones.len());
        self.register.listed(phones).await
    }

    async fn known_signals(
        &self,
        phones: &[Phone],
    ) -> Result<HashMap<String, Vec<String>>, BackendError> {
        self.register.known_signals(phones).await
    }

    async fn entries(
        &self,
        phones: &[Phone],
    ) -> Result<HashMap<String, (RegisterEntry, u64)>, BackendError> {
        self.register.entries(phones).await
    }
}

fn on_register(register: &MemoryDncRegister, phone: &str) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let item = HashMap::from([
        ("phone".to_owned(), AttributeValue::S(phone.into())),
        (
            "dncAt".to_owned(),
            AttributeValue::S("2024-01-26T12:00:00.000Z".into()),
        ),
        ("reason".to_owned(), AttributeValue::S("keypress_9".into())),
    ]);
    register.put_raw(phone, item);
}

#[tokio::test]
async fn each_row_is_kept_removed_as_on_the_register_or_removed_as_no_phone() {
    let lookup = Counted::default();
    on_register(&lookup.register, "+12025550100");
    let rows: Vec<Result<Phone, NotAPhone>> =
        ["+12025550100", "(202) 555-0100", "+12025550101", "", "n/a"]
            .iter()
            .map(|value| read_phone(value, Country::US))
            .collect();
    let verdicts = verdicts(&lookup, &rows).await.unwrap();
    // An entry of the first release: a signed signal, its request pending.
    let listed = Listed {
        dnc_at: "2024-01-26T12:00:00.000Z".into(),
        reason: "keypress_9".into(),
        kind: "signed".into(),
        channel: String::new(),
        also_signed: false,
        request_state: "pending".into(),
    };
    assert_eq!(
        verdicts,
        vec![
            Verdict::Dnc(listed.clone()),
            Verdict::Dnc(listed),
            Verdict::Keep,
            Verdict::Invalid(NotAPhone::Empty),
            Verdict::Invalid(NotAPhone::Invalid),
        ]
    );
    assert_eq!(verdicts[0].why(), "dnc");
    assert_eq!(verdicts[4].why(), "invalid phone");
    // Two rows name one phone: asked once.
    assert_eq!(*lookup.batches.lock().unwrap(), vec![2]);
}

#[tokio::test]
async fn the_register_is_asked_once_per_distinct_phone_in_batches_of_at_most_100() {
    let lookup = Counted::default();
    let rows: Vec<Result<Phone, NotAPhone>> = (0..1_000)
        .map(|i| Phone::parse(&format!("+1202555{:04}", i % 250)).map_err(|_| NotAPhone::Invalid))
        .collect();
    let verdicts = verdicts(&lookup, &rows).await.unwrap();
    assert!(verdicts.iter().all(|v| *v == Verdict::Keep));
    let mut batches = lookup.batches.lock().unwrap().clone();
    batches.sort_unstable();
    assert_eq!(batches, vec![50, LOOKUP_BATCH, LOOKUP_BATCH]);
}
