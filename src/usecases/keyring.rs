//! The webhook's secrets, as a warm instance holds them (docs/contract.md §6): read at cold
//! start, and read again when a request's signature matches none of them, so a secret added
//! in Secrets Manager is accepted without a deploy.
//!
//! At most one read every [`REFRESH_EVERY`] per instance, under a lock, so a burst of
//! requests signed with the new secret makes one read, and a flood of wrong signatures at
//! most two a minute; a missing, malformed or stale header reads nothing. The secrets held
//! are replaced only by a successful read. Secrets that keep matching are read again after
//! [`HELD_AT_MOST`] (by a request that does not wait for it), so a secret removed from
//! Secrets Manager, the rotation's last step, is refused within minutes. A request is
//! checked again only when a read changed the secrets: whatever its header holds, it costs
//! one HMAC per secret, and once more right after a rotation.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::core::error_chain;
use crate::core::signature::{Secret, SignatureError, Verifier};
use crate::ports::{BackendError, WebhookSecrets};

/// The least time between two reads of the secret by one instance.
pub const REFRESH_EVERY: Duration = Duration::from_secs(30);
/// How long an instance trusts secrets that keep matching before it reads them again.
pub const HELD_AT_MOST: Duration = Duration::from_secs(300);
/// The longest a read may hold up the request that makes it: the signature check comes
/// before the 7 s receive deadline, and both must end inside the function's 10 s.
pub const READ_AT_MOST: Duration = Duration::from_secs(2);

/// Secrets given at start and never read again (`WEBHOOK_SECRET`, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct Fixed;

impl WebhookSecrets for Fixed {
    async fn read(&self) -> Result<Vec<Secret>, BackendError> {
        Err(BackendError::new(
            "reading the webhook secret",
            "no secret store",
        ))
    }
}

/// When the secret was read.
struct Reads {
    /// The last read tried since the cold start (`None`: only the cold start's).
    tried: Option<Instant>,
    /// The last read that succeeded (at first, the cold start's).
    succeeded: Instant,
}

pub struct Keyring<K> {
    source: Option<K>,
    /// The verifier with the secrets held now, and how many times they were replaced.
    current: RwLock<(Arc<Verifier>, u64)>,
    reads: Mutex<Reads>,
    every: Duration,
}

impl<K: WebhookSecrets> Keyring<K> {
    /// `verifier` holds the secrets read at start; `source`, where to read them again.
    pub fn new(verifier: Verifier, source: Option<K>) -> Self {
        Self {
            source,
            current: RwLock::new((Arc::new(verifier), 0)),
            reads: Mutex::new(Reads {
                tried: None,
                succeeded: Instant::now(),
            }),
            every: REFRESH_EVERY,
        }
    }

    fn current(&self) -> (Arc<Verifier>, u64) {
        // The pair is written whole: a poisoned lock still holds a consistent one.
        let guard = self
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (guard.0.clone(), guard.1)
    }

    /// [`Verifier::verify`] with the secrets held; then, if no secret matched, or the
    /// secrets held are older than [`HELD_AT_MOST`], with the secrets as Secrets Manager
    /// holds them now.
    pub async fn verify(
        &self,
        header: Option<&str>,
        body: &[u8],
        now_ms: i64,
    ) -> Result<(), SignatureError> {
        let (verifier, generation) = self.current();
        let first = verifier.verify(header, body, now_ms);
        let Some(source) = &self.source else {
            return first;
        };
        match &first {
            Err(SignatureError::Mismatch) => {
                // Behind a read under way: it may bring the secret this request needs.
                let mut reads = self.reads.lock().await;
                if reads.tried.is_none_or(|at| at.elapsed() >= self.every) {
                    self.read(source, &mut reads).await;
                }
            }
            Ok(()) => {
                // A request that matches never waits for a read.
                let Ok(mut reads) = self.reads.try_lock() else {
                    return first;
                };
                let stale = reads.succeeded.elapsed() >= HELD_AT_MOST;
                if stale && reads.tried.is_none_or(|at| at.elapsed() >= self.every) {
                    self.read(source, &mut reads).await;
                }
            }
            Err(_) => return first,
        }
        match self.current() {
            (verifier, now) if now != generation => verifier.verify(header, body, now_ms),
            _ => first,
        }
    }

    /// Reads the secret; replaces the secrets held only with a successful read.
    async fn read(&self, source: &K, reads: &mut Reads) {
        reads.tried = Some(Instant::now());
        let read = tokio::time::timeout(READ_AT_MOST, source.read())
            .await
            .unwrap_or_else(|_| {
                Err(BackendError::new(
                    "reading the webhook secret",
                    "no answer within 2 s",
                ))
            });
        match read {
            Ok(secrets) if !secrets.is_empty() => {
                reads.succeeded = Instant::now();
                let mut current = self
                    .current
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if current.0.secrets() != secrets.as_slice() {
                    let replaced = current.0.with_secrets(secrets);
                    *current = (Arc::new(replaced), current.1 + 1);
                    tracing::info!("the webhook secret changed: the new secrets are in use");
                }
            }
            Ok(_) => tracing::error!("the webhook secret holds no secret: keeping the ones held"),
            Err(e) => tracing::error!(
                error = %error_chain(&e),
                "cannot read the webhook secret again: keeping the ones held"
            ),
        }
    }
}
