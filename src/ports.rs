//! What the use cases need from the outside world, one small trait per need:
//! [`LeadStore`] and [`Inbox`] for the webhook (DynamoDB only: its answer depends on nothing
//! else), [`MessagePublisher`], [`DncRegisterStore`] and [`ParkingLot`] for the relay and
//! the sweep, [`StreamShards`] and [`FailureArchive`] for the redrive of given-up stream
//! batches,
//! [`QuarantineQueue`] for the replay. Each has an AWS adapter and an in-memory one (in
//! `adapters/`, which this module does not import: the imports point inwards).

use std::error::Error as StdError;
use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::core::decided::{Change, Decided, HeldBody, RelayMark, Unreadable, Waiting};
use crate::core::domain::{Phone, Timestamp};
use crate::core::lead::LeadState;
use crate::core::messages::{QuarantineRecord, QueueMessage};
use crate::core::register::{DncSignalRecord, RegisterEntry};
use crate::core::signature::Secret;

/// A backend call that failed after the SDK's own retries. Its text is for logs only:
/// it never reaches a response. Whether it is worth retrying is decided where it is made,
/// by [`crate::adapters::failure`].
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed")]
pub struct BackendError {
    pub operation: &'static str,
    /// `Some(why)` when retrying can never help (`why` is safe to show the sender: it
    /// names the problem, never AWS's own message).
    pub permanent: Option<&'static str>,
    #[source]
    pub source: Box<dyn StdError + Send + Sync>,
}

impl BackendError {
    /// A failure that may pass: unavailable, throttled, timed out.
    pub fn new(
        operation: &'static str,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            operation,
            permanent: None,
            source: source.into(),
        }
    }

    /// A failure that every retry would repeat, and why.
    pub fn permanent(
        operation: &'static str,
        why: &'static str,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            operation,
            permanent: Some(why),
            source: source.into(),
        }
    }

    pub fn is_permanent(&self) -> bool {
        self.permanent.is_some()
    }
}

/// Where the webhook's client secrets are kept (Secrets Manager), read again by a warm
/// instance when a request's signature matches none of those it holds.
pub trait WebhookSecrets: Send + Sync {
    fn read(&self) -> impl Future<Output = Result<Vec<Secret>, BackendError>> + Send;
}

/// A lead as stored: its state, the version the next write must match, and what the item
/// holds for the relay that the next write must know of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLead {
    pub state: LeadState,
    pub version: u64,
    pub relay: HeldForRelay,
    /// The item holds nothing of an earlier release's format: its next write may set only
    /// the attributes that changed since `state` ([`LeadWrite::previous`]).
    pub current_format: bool,
}

/// What a lead item holds for the relay, as its next write needs to know it: small and
/// bounded (no message, no body), so a webhook instance caches it for thousands of leads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldForRelay {
    /// The item has its outbox (`relayOutbox`, and `dncBodies`): a write adds its entry to
    /// it. Once made, an outbox is never removed, only its entries.
    pub has_outbox: bool,
    /// The DNC signal whose evidence body the item holds (at most one, [`HeldBody`]), as
    /// far as this instance knows: the relay may have taken it out since.
    pub body: Option<HeldBody>,
    /// What an item of an earlier release still holds in `outbox` and `dncSignals`, never
    /// confirmed: the next write takes it into its own entry. Empty once written by this
    /// release.
    pub legacy: Decided,
    /// Since when `legacy` waits for the relay (`None`: an item of the first format).
    pub legacy_since: Option<Timestamp>,
}

/// One webhook write of a lead: its new state, and what it decided for the relay.
#[derive(Debug, Clone, Copy)]
pub struct LeadWrite<'a> {
    pub state: &'a LeadState,
    /// The messages and DNC signals this write decided (with an earlier release's outbox
    /// it takes over): its entry in the item's outbox; its signals' bodies already placed
    /// ([`crate::core::decided::hold_one_body`]).
    pub decided: &'a Decided,
    /// The evidence body the item no longer holds (a signal of this write came first).
    pub drops_body: Option<&'a str>,
    /// What the stored item holds for the relay, as the webhook knows it.
    pub held: &'a HeldForRelay,
    /// Since when the entry waits for the relay (an earlier release's age, else now).
    pub since: Timestamp,
    /// The version the item must be at (`None`: the lead must not exist yet).
    pub expected_version: Option<u64>,
    /// The state the item holds at `expected_version`, when the item is of the current
    /// format ([`StoredLead::current_format`]): the write sets only the attributes that
    /// changed since. `None`: it sets every attribute of the state and removes whatever an
    /// earlier format left.
    pub previous: Option<&'a LeadState>,
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The stored lead is not at the expected version. `current` is the lead as it is now
    /// (DynamoDB returns it with the failed condition), `None` if it does not exist.
    #[error("the lead is not at the expected version")]
    Conflict { current: Option<Box<StoredLead>> },
    #[error(transparent)]
    Backend(#[from] BackendError),
}

pub trait LeadStore: Send + Sync {
    /// Writes the state, and adds what the write decided as one entry of the item's outbox
    /// for the relay, in one conditional write (an update: entries of earlier writes stay
    /// as they are, until the relay confirms them). Returns the version written.
    fn save(&self, write: LeadWrite<'_>) -> impl Future<Output = Result<u64, SaveError>> + Send;
}

/// What arrives that belongs to no lead, kept durably before the webhook answers, for the
/// relay: quarantined bodies, and legacy (v1) DNC signals, which name no campaign.
pub trait Inbox: Send + Sync {
    fn keep_quarantined(
        &self,
        record: &QuarantineRecord,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Keeps a DNC signal that has no lead item to ride in (a legacy v1 `dnc.created`, a
    /// signal read leniently from a quarantined body, the signal of an event whose lead
    /// cannot be written), under its phone, unless it was kept before; says whether it is
    /// new.
    fn keep_signal(
        &self,
        record: &DncSignalRecord,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterSaveError {
    #[error("the register entry is not at the expected version")]
    Conflict,
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// The company-wide DNC register: one entry per phone.
pub trait DncRegisterStore: Send + Sync {
    /// The phone's entry and its version, if the phone is on the register.
    fn load(
        &self,
        phone: &Phone,
    ) -> impl Future<Output = Result<Option<(RegisterEntry, u64)>, BackendError>> + Send;

    /// Writes the entry if the stored version is still `expected_version` (`None`: absent).
    fn save(
        &self,
        phone: &Phone,
        entry: &RegisterEntry,
        expected_version: Option<u64>,
    ) -> impl Future<Output = Result<(), RegisterSaveError>> + Send;

    /// Marks the phone's request taken by SQS at `at` (a request sent already keeps its
    /// first time); bumps the version, so a concurrent `save` decides again.
    fn mark_sent(
        &self,
        phone: &Phone,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Marks the phone's request refused by SQS for good, and takes it out of the sweep.
    fn mark_refused(
        &self,
        phone: &Phone,
        why: &str,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Up to `limit` phones whose request is pending since `before` or earlier, the longest
    /// pending first, each with when it became pending (RFC 3339), from the sparse index of
    /// pending requests (never a scan of the register).
    fn pending(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(Phone, String)>, BackendError>> + Send;

    /// Up to `limit` phones whose request an import owes ([`RequestState::PendingImport`]),
    /// the longest pending first, each with when it became pending: the import's own keys
    /// of the same index.
    ///
    /// [`RequestState::PendingImport`]: crate::core::register::RequestState::PendingImport
    fn pending_imported(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(Phone, String)>, BackendError>> + Send;
}

/// What the register says of a phone a dial list holds: on it since `dnc_at`, for this
/// `reason` (`keypress_9`, `call_result_dnc`, `dnc_created`, `imported`), its first signal of
/// this `kind` (its evidence: `signed`, `imported`, `api`, `sms`) and, for the kinds that
/// have one, `channel` (`agent`, `sms`, ...; else empty); whether a signed signal is kept
/// beside a first signal of another kind; the state of its DNC request (`pending`, `sent`,
/// `refused`, `none`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub dnc_at: String,
    pub reason: String,
    pub kind: String,
    pub channel: String,
    pub also_signed: bool,
    pub request_state: String,
}

impl Listed {
    /// The kinds of signal the entry keeps: its first's, and `signed` when a signed one is
    /// kept beside it.
    pub fn kinds(&self) -> Vec<&str> {
        let mut kinds = vec![self.kind.as_str()];
        if self.also_signed && self.kind != "signed" {
            kinds.push("signed");
        }
        kinds
    }
}

/// The register as `call-events-dnc scrub` and `import` ask it: many phones at once, read
/// only.
pub trait RegisterLookup: Send + Sync {
    /// Which of `phones` (at most 100) are on the register, by phone; consistent reads.
    fn listed(
        &self,
        phones: &[Phone],
    ) -> impl Future<Output = Result<std::collections::HashMap<String, Listed>, BackendError>> + Send;

    /// The signal ids each of `phones` (at most 100) on the register knows (a signal of one
    /// of them changes nothing), by phone; consistent reads of those attributes only.
    fn known_signals(
        &self,
        phones: &[Phone],
    ) -> impl Future<Output = Result<std::collections::HashMap<String, Vec<String>>, BackendError>> + Send;

    /// The entries and versions of those of `phones` (at most 100) on the register, by
    /// phone; consistent reads. An entry this code cannot read is a permanent error.
    fn entries(
        &self,
        phones: &[Phone],
    ) -> impl Future<
        Output = Result<std::collections::HashMap<String, (RegisterEntry, u64)>, BackendError>,
    > + Send;
}

/// What the relay could not send anywhere, kept durably with its reason for a person: the
/// last resort when the quarantine queue itself refuses (docs/operating.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    /// What kind of thing this is: `parked` (a message or record), `stream-gap` (a given-up
    /// batch the stream no longer holds).
    pub kind: &'static str,
    pub at: String,
    pub reason: String,
    /// What could not be sent (a message body, a record), or what is known of a gap.
    pub body: String,
}

pub trait ParkingLot: Send + Sync {
    fn park(&self, parked: &Parked) -> impl Future<Output = Result<(), BackendError>> + Send;
}

/// The lead table as the relay confirms what it relayed: each write that decided messages
/// or DNC signals adds an entry to its item's outbox, and the item waits in an index until
/// the relay confirmed every entry; the sweep reads the index for writes whose stream
/// record never came.
pub trait RelayLedger: Send + Sync {
    /// Takes the entries the mark names out of the item's outbox, and the item out of the
    /// index when none is left. Never moves the item's version. Says whether it found them
    /// (`false`: confirmed already, or the item was written over since).
    fn confirm(&self, mark: &RelayMark) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Up to `limit` items waiting since `before` or earlier, the longest waiting first,
    /// from the sparse index (never a scan of the table).
    fn waiting(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Waiting>, BackendError>> + Send;

    /// What the waiting item holds now (one consistent read): the entries of its outbox
    /// decided at `before` or earlier, as one [`Decided`] whose mark confirms them (and
    /// takes the item out of the index when nothing else waits); `None` when it no longer
    /// waits; the item whole, with why, when this code cannot read it.
    fn reread(
        &self,
        waiting: &Waiting,
        before: Timestamp,
    ) -> impl Future<Output = Result<Option<Result<Decided, Unreadable>>, BackendError>> + Send;

    /// Takes an item this code cannot read out of the index (it was parked, with its
    /// image, for a person), if it still waits since `waiting.since`.
    fn set_aside(&self, waiting: &Waiting)
    -> impl Future<Output = Result<(), BackendError>> + Send;
}

/// Sends what a committed write decided to its queue.
pub trait MessagePublisher: Send + Sync {
    fn send(&self, message: &QueueMessage)
    -> impl Future<Output = Result<(), BackendError>> + Send;

    fn quarantine(
        &self,
        record: &QuarantineRecord,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;
}

/// One message of the quarantine queue.
#[derive(Debug, Clone)]
pub struct Quarantined {
    pub message_id: String,
    /// What removes or releases the message.
    pub receipt: String,
    /// The record, or why the message is not one.
    pub record: Result<QuarantineRecord, String>,
}

/// The quarantine queue, as the replay reads it.
pub trait QuarantineQueue: Send + Sync {
    /// Up to a batch of messages, hidden from other readers for a while.
    fn receive(&self) -> impl Future<Output = Result<Vec<Quarantined>, BackendError>> + Send;
    /// Deletes a handled message.
    fn remove(&self, receipt: &str) -> impl Future<Output = Result<(), BackendError>> + Send;
    /// Makes a message left in place visible again at once.
    fn release(&self, receipt: &str) -> impl Future<Output = Result<(), BackendError>> + Send;
}

/// Where a given-up batch was in the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamBatch {
    pub stream_arn: String,
    pub shard_id: String,
    pub start_sequence_number: String,
    pub end_sequence_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_arrival_of_first_record: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_arrival_of_last_record: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u64>,
}

/// Where a read of a shard starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardPosition {
    /// At this sequence number: a batch's first record.
    At(String),
    /// Just after this sequence number: the last record read, to renew an expired iterator.
    After(String),
}

/// One `GetRecords` answer of a shard.
#[derive(Debug, Clone)]
pub struct StreamPage {
    /// The page's records, in order; a page may be empty well before the shard's end.
    pub changes: Vec<Change>,
    /// The next page's iterator; `None` once a closed shard has been read to its end.
    pub next: Option<String>,
}

/// Why a page or an iterator could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The iterator is older than DynamoDB Streams keeps iterators (15 minutes): take a new
    /// one from the last record read.
    #[error("the shard iterator expired")]
    Expired,
    /// Too many reads of the shard: the same read may pass after a pause.
    #[error("the stream throttles the read")]
    Throttled(#[source] BackendError),
    /// The stream no longer holds the records (trimmed after 24 h, or the stream or shard
    /// is gone): they can never be read again.
    #[error("the stream no longer holds the records: {0}")]
    Gone(String),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// The lead table's stream, page by page, as DynamoDB Streams serves it.
pub trait StreamShards: Send + Sync {
    /// An iterator on the batch's shard, at or after a sequence number; `None` when a
    /// closed shard holds nothing from there on.
    fn iterator(
        &self,
        batch: &StreamBatch,
        from: &ShardPosition,
    ) -> impl Future<Output = Result<Option<String>, PageError>> + Send;

    /// The page an iterator points at.
    fn page(&self, iterator: &str) -> impl Future<Output = Result<StreamPage, PageError>> + Send;
}

/// Why a batch could not be read from the stream.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The stream no longer holds the records (trimmed after 24 h, or the stream or shard
    /// is gone): they can never be read again.
    #[error("the stream no longer holds the batch: {0}")]
    Gone(String),
    /// The read did not reach the batch's last record in its time (empty pages, throttling):
    /// it may next time.
    #[error("the stream read is incomplete: {0}")]
    Incomplete(String),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Where Lambda keeps the stream batches it gave up on: the stream mapping's on-failure
/// destination, an S3 bucket, where each object is Lambda's invocation record with every
/// record of the batch (images included), kept as long as the bucket keeps it.
pub trait FailureArchive: Send + Sync {
    /// The object's bytes; `None` when the bucket no longer holds it (its lifecycle
    /// expired it, or a person deleted it).
    fn fetch(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, BackendError>> + Send;
}
