//! A dialer asks the register before it dials (`GET /v1/opt-outs/{phone}`, `POST
//! /v1/opt-outs/check`, docs/contract.md §9): consistent reads, and never an answer that
//! calls a phone callable the register did not answer for. The register either answers
//! for every phone asked, within the deadline, or the whole question fails (a `503`).

use std::time::Duration;

use crate::core::domain::Phone;
use crate::ports::{BackendError, Listed, RegisterLookup};

/// How long a question may take, the register's retries of unprocessed keys included: well
/// inside the function's timeout and API Gateway's 30 seconds.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// What the register says of one phone asked: its entry, or `None`: not on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub phone: Phone,
    pub listed: Option<Listed>,
}

#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("the register did not answer within {0:?}")]
    DeadlineExceeded(Duration),
}

/// The standing of each of `phones` (at most 100), in their order (a phone asked twice is
/// read once and answered twice).
pub async fn ask(
    register: &impl RegisterLookup,
    phones: &[Phone],
    deadline: Duration,
) -> Result<Vec<Standing>, AskError> {
    let listed = tokio::time::timeout(deadline, register.listed(phones))
        .await
        .map_err(|_| AskError::DeadlineExceeded(deadline))??;
    Ok(phones
        .iter()
        .map(|phone| Standing {
            phone: phone.clone(),
            listed: listed.get(phone.as_str()).cloned(),
        })
        .collect())
}
