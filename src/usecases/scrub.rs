//! `call-events-dnc scrub`'s use case: which rows of a dial list stay, which go and why
//! (docs/contract.md §8). The rows' phones are read by the core's rule
//! ([`crate::core::dial_list::read_phone`]); the register is asked about the distinct valid
//! phones of a chunk of rows in batches of [`LOOKUP_BATCH`], [`LOOKUPS_AT_ONCE`] at a
//! time. Reads only.

use std::collections::HashMap;

use futures_util::{StreamExt, TryStreamExt};

use crate::core::dial_list::NotAPhone;
use crate::core::domain::Phone;
use crate::ports::{BackendError, Listed, RegisterLookup};

/// Keys in one `BatchGetItem` (DynamoDB's most).
pub const LOOKUP_BATCH: usize = 100;
/// Batches asked at once.
pub const LOOKUPS_AT_ONCE: usize = 8;

/// What becomes of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not on the register: it stays on the dial list, byte for byte.
    Keep,
    /// On the register: removed, with what the register says.
    Dnc(Listed),
    /// Its value is not a phone: removed, since it cannot be checked.
    Invalid(NotAPhone),
}

impl Verdict {
    /// `dnc` or `invalid phone`, as the removed rows say why.
    pub fn why(&self) -> &'static str {
        match self {
            Self::Keep => "",
            Self::Dnc(_) => "dnc",
            Self::Invalid(_) => "invalid phone",
        }
    }
}

/// Each row's verdict, in the rows' order, from the phone read from it.
pub async fn verdicts<L: RegisterLookup>(
    register: &L,
    rows: &[Result<Phone, NotAPhone>],
) -> Result<Vec<Verdict>, BackendError> {
    let mut phones: Vec<Phone> = rows
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .cloned()
        .collect();
    phones.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    phones.dedup_by(|a, b| a.as_str() == b.as_str());
    let listed: HashMap<String, Listed> =
        in_batches(&phones, |batch| register.listed(batch)).await?;
    Ok(rows
        .iter()
        .map(|row| match row {
            Err(why) => Verdict::Invalid(*why),
            Ok(phone) => match listed.get(phone.as_str()) {
                Some(listing) => Verdict::Dnc(listing.clone()),
                None => Verdict::Keep,
            },
        })
        .collect())
}

/// `ask` of each batch of [`LOOKUP_BATCH`] of `phones`, [`LOOKUPS_AT_ONCE`] at a time, the
/// answers in one map (the scrub's lookups, and the import's reads).
pub(crate) async fn in_batches<'a, T, F, Fut>(
    phones: &'a [Phone],
    ask: F,
) -> Result<HashMap<String, T>, BackendError>
where
    F: Fn(&'a [Phone]) -> Fut,
    Fut: std::future::Future<Output = Result<HashMap<String, T>, BackendError>>,
{
    futures_util::stream::iter(phones.chunks(LOOKUP_BATCH))
        .map(ask)
        .buffer_unordered(LOOKUPS_AT_ONCE)
        .try_fold(HashMap::new(), |mut all, found| async move {
            all.extend(found);
            Ok(all)
        })
        .await
}
