//! The messages the call-events receiver puts on its queues, for the receiver that builds
//! them and the services that consume them (docs/contract.md §5):
//!
//! - [`CallbackScheduled`] on the callback queue: a lead asked to be called back;
//! - [`DncRequested`] on the DNC queue: a phone number must not be called again, with the
//!   signed request that said so ([`Evidence`]);
//! - [`QuarantineRecord`] on the quarantine queue: an authentic body that could not be
//!   recorded, kept for replay.
//!
//! Parse a queue message with [`Message::from_json`]. Every message has a stable `id`, the
//! same on every redelivery: deduplicate by it ([`ids`] documents how ids are made).
//!
//! The JSON Schemas in the project's `schemas/` folder are generated from these types
//! ([`schemas`]); a test fails when the checked-in files differ. Readers ignore fields they
//! do not know, so a field may be added within `schemaVersion` 1; anything else is a new
//! version, which [`SchemaVersion`] refuses to read.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub mod ids;
mod schema;

pub use schema::{SCHEMA_FILES, schemas};

/// The `type` of a [`CallbackScheduled`].
pub const CALLBACK_TYPE: &str = "callback.scheduled";
/// The `type` of a [`DncRequested`].
pub const DNC_TYPE: &str = "dnc.requested";

/// E.164: `+`, a non-zero digit, then up to 14 digits.
pub const PHONE_PATTERN: &str = r"^\+[1-9][0-9]{1,14}$";
/// An event id: `evt_` and 32 lower-case hex digits.
pub const EVENT_ID_PATTERN: &str = r"^evt_[0-9a-f]{32}$";
/// A DNC signal's id: the platform's event id, or `imp_` and 32 lower-case hex digits for
/// an imported signal (`call-events-dnc import`).
pub const SIGNAL_ID_PATTERN: &str = r"^(evt|imp|api)_[0-9a-f]{32}$";

/// The version of the message bodies: 1. A reader of this crate refuses any other, so a
/// consumer fails loudly (and its queue's redrive policy keeps the message) rather than
/// misread a body it does not know.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SchemaVersion;

impl SchemaVersion {
    pub const NUMBER: u8 = 1;
}

impl Serialize for SchemaVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(Self::NUMBER)
    }
}

impl<'de> Deserialize<'de> for SchemaVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match u64::deserialize(deserializer)? {
            1 => Ok(Self),
            other => Err(D::Error::custom(format!(
                "schemaVersion {other}: this reader knows version {}",
                Self::NUMBER
            ))),
        }
    }
}

impl JsonSchema for SchemaVersion {
    fn schema_name() -> Cow<'static, str> {
        "SchemaVersion".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "const": 1 })
    }
}

/// The type of a callback.scheduled message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum CallbackType {
    #[default]
    #[serde(rename = "callback.scheduled")]
    CallbackScheduled,
}

/// The type of a dnc.requested message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DncType {
    #[default]
    #[serde(rename = "dnc.requested")]
    DncRequested,
}

/// The event type of a callback's source: always `lead.call_scheduled`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum CallbackEventType {
    #[default]
    #[serde(rename = "lead.call_scheduled")]
    CallScheduled,
}

/// The sender's event a callback comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallbackSource {
    pub event_type: CallbackEventType,
    #[schemars(extend("format" = "date-time"))]
    pub event_time: String,
    #[schemars(pattern(EVENT_ID_PATTERN))]
    pub event_id: String,
}

/// A lead asked to be called back. One message per distinct lead.call_scheduled event;
/// not sent for a phone that is DNC in any campaign when it would be sent. A consumer
/// still asks the DNC register before it dials: a DNC may arrive after the message left.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(
    title = "callback.scheduled",
    extend("$id" = "callback.scheduled.schema.json")
)]
pub struct CallbackScheduled {
    pub schema_version: SchemaVersion,
    #[serde(rename = "type")]
    pub message_type: CallbackType,
    /// Idempotency key: the same for every retry of this message (`callback-` + the hex of
    /// the source event's id).
    #[schemars(pattern(ids::CALLBACK_ID_PATTERN))]
    pub id: String,
    #[schemars(length(min = 1))]
    pub campaign_id: String,
    #[schemars(pattern(PHONE_PATTERN))]
    pub phone: String,
    #[schemars(required, length(min = 1), extend("type" = ["string", "null"]))]
    pub external_lead_id: Option<String>,
    /// When the lead asked to be called (RFC 3339, UTC).
    #[schemars(extend("format" = "date-time"))]
    pub scheduled_time: String,
    pub source: CallbackSource,
}

/// Why a number went on the DNC list.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum DncReason {
    /// The lead pressed 9.
    #[serde(rename = "keypress_9")]
    Keypress9,
    /// A call ended with `callResult: dnc`.
    #[serde(rename = "call_result_dnc")]
    CallResultDnc,
    /// The platform's own `dnc.created` (v2, or legacy v1).
    #[serde(rename = "dnc_created")]
    DncCreated,
    /// An entry of a list the company already kept, put on the register by
    /// `call-events-dnc import`: its evidence is its provenance ([`Provenance`]), not a
    /// signed request.
    #[serde(rename = "imported")]
    Imported,
    /// The person opted out through another channel (an agent, a text, an e-mail, ...), as
    /// a company service recorded it through the register's API: its evidence is that
    /// record ([`ApiRecord`]), not a signed request.
    #[serde(rename = "opt_out")]
    OptOut,
}

impl DncReason {
    pub const ALL: [Self; 5] = [
        Self::Keypress9,
        Self::CallResultDnc,
        Self::DncCreated,
        Self::Imported,
        Self::OptOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keypress9 => "keypress_9",
            Self::CallResultDnc => "call_result_dnc",
            Self::DncCreated => "dnc_created",
            Self::Imported => "imported",
            Self::OptOut => "opt_out",
        }
    }

    /// The type of the event that carries a signal of this reason (`import` for an
    /// imported one).
    pub fn event_type(self) -> DncEventType {
        match self {
            Self::Keypress9 => DncEventType::CallKeyPressed,
            Self::CallResultDnc => DncEventType::CallEnded,
            Self::DncCreated => DncEventType::DncCreated,
            Self::Imported => DncEventType::Import,
            Self::OptOut => DncEventType::Api,
        }
    }

    /// Whether a signal of this reason came from the platform, in a signed request.
    pub fn is_signed(self) -> bool {
        !matches!(self, Self::Imported | Self::OptOut)
    }

    /// Whether a signal of this reason owes the phone its DNC request at once (every one
    /// but an imported list's entry: the import decides).
    pub fn owes_request(self) -> bool {
        self != Self::Imported
    }
}

/// The event types that carry a DNC signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DncEventType {
    #[serde(rename = "lead.call_key_pressed")]
    CallKeyPressed,
    #[serde(rename = "lead.call_ended")]
    CallEnded,
    #[serde(rename = "dnc.created")]
    DncCreated,
    /// `call-events-dnc import`: the signal came from a list the company already kept.
    #[serde(rename = "import")]
    Import,
    /// `POST /v1/opt-outs`: a company service recorded the opt-out.
    #[serde(rename = "api")]
    Api,
}

/// Where a DNC signal comes from: the sender's event, or (`eventType: import`) the import
/// that put it on the register, at its time, under an id made from what the line said.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DncSource {
    pub event_type: DncEventType,
    #[schemars(extend("format" = "date-time"))]
    pub event_time: String,
    #[schemars(pattern(SIGNAL_ID_PATTERN))]
    pub event_id: String,
}

/// The exact signed request a DNC signal arrived in: anyone holding the webhook secret can
/// verify it years later (docs/downstream.md, "The DNC register").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// When the webhook received it (RFC 3339, UTC).
    #[schemars(extend("format" = "date-time"))]
    pub received_at: String,
    /// The aktify-signature header as received: `t=<ms>,v2=<hex>` (or `v1=<hex>` for legacy
    /// webhooks).
    pub signature_header: String,
    /// The raw request body (when its bytes are not kept exactly as text, a preview for
    /// people: see `body_base64`).
    pub body: String,
    /// The body's exact bytes in base64, when `body` is not them (bytes that are not UTF-8,
    /// or text too costly to escape): a signature check uses these ([`Evidence::bytes`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

impl Evidence {
    /// The evidence of a request received at `received_at`, its body kept exactly.
    pub fn of_request(received_at: String, signature_header: String, body: &[u8]) -> Self {
        let KeptBody { text, base64 } = KeptBody::of(body);
        Self {
            received_at,
            signature_header,
            body: text,
            body_base64: base64,
        }
    }

    /// The exact bytes that were signed.
    pub fn bytes(&self) -> Result<Cow<'_, [u8]>, BodyError> {
        body_bytes(&self.body, self.body_base64.as_deref())
    }
}

/// The `kind` of an imported signal's evidence: always `imported`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ImportedKind {
    #[default]
    #[serde(rename = "imported")]
    Imported,
}

/// What an imported DNC signal has instead of a signed request: where the company's own
/// list said it (`call-events-dnc import`). It proves what the list held and when it was
/// imported, not that the person asked: no platform signature stands behind it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    pub kind: ImportedKind,
    /// The list it came from, as the operator named it (`--source`).
    #[schemars(length(min = 1))]
    pub source: String,
    /// The SHA-256 of the imported file's bytes, in lower-case hex.
    #[schemars(pattern(r"^[0-9a-f]{64}$"))]
    pub file_sha256: String,
    /// The line's number in the file (the header is line 1 of a CSV with one).
    #[schemars(range(min = 1))]
    pub line: u64,
    /// The line's text, exactly (without its line ending).
    pub line_text: String,
    /// When it was imported (RFC 3339, UTC).
    #[schemars(extend("format" = "date-time"))]
    pub imported_at: String,
}

/// The `kind` of an opt-out a company service recorded: always `api`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ApiKind {
    #[default]
    #[serde(rename = "api")]
    Api,
}

/// What an opt-out recorded through the register's API (`POST /v1/opt-outs`) has instead
/// of a signed request: who recorded it (the IAM principal API Gateway authorized), where
/// the person said it, the caller's own reference, and the exact request. It rests on the
/// company's own record: no platform signature stands behind it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiRecord {
    pub kind: ApiKind,
    /// The caller's IAM principal (its ARN), as API Gateway authorized it.
    pub principal: String,
    /// Where the person said it: `agent`, `sms`, `email`, `web`, `mail` or `other`.
    pub channel: String,
    /// The caller's own id of the opt-out (with the principal, what makes a retry the same).
    pub reference: String,
    pub source_ip: String,
    /// API Gateway's id of the request.
    pub request_id: String,
    /// When the register received it (RFC 3339, UTC).
    #[schemars(extend("format" = "date-time"))]
    pub received_at: String,
    /// The request's body, exactly.
    pub body: String,
}

/// A DNC signal's evidence: the signed request it arrived in ([`Evidence`]), or, for an
/// imported signal, its provenance ([`Provenance`], `kind: imported`). A signed request's
/// evidence has no `kind`: its bytes are those of every earlier release.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum SignalEvidence {
    Signed(Evidence),
    Imported(Provenance),
    Api(ApiRecord),
}

impl SignalEvidence {
    /// The signed request, unless the signal was imported.
    pub fn signed(&self) -> Option<&Evidence> {
        match self {
            Self::Signed(evidence) => Some(evidence),
            Self::Imported(_) | Self::Api(_) => None,
        }
    }

    /// The provenance of an imported signal.
    pub fn imported(&self) -> Option<&Provenance> {
        match self {
            Self::Imported(provenance) => Some(provenance),
            Self::Signed(_) | Self::Api(_) => None,
        }
    }

    /// The record of an opt-out a company service reported.
    pub fn api(&self) -> Option<&ApiRecord> {
        match self {
            Self::Api(record) => Some(record),
            Self::Signed(_) | Self::Imported(_) => None,
        }
    }

    /// Its `kind`: `signed`, `imported` or `api`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Signed(_) => "signed",
            Self::Imported(_) => "imported",
            Self::Api(_) => "api",
        }
    }
}

impl From<Evidence> for SignalEvidence {
    fn from(evidence: Evidence) -> Self {
        Self::Signed(evidence)
    }
}

impl From<ApiRecord> for SignalEvidence {
    fn from(record: ApiRecord) -> Self {
        Self::Api(record)
    }
}

impl From<Provenance> for SignalEvidence {
    fn from(provenance: Provenance) -> Self {
        Self::Imported(provenance)
    }
}

/// Read by its `kind`, not by trying each shape: a DynamoDB item's numbers and an
/// untagged enum do not mix, and a broken evidence should say what is wrong with it.
impl<'de> Deserialize<'de> for SignalEvidence {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Either {
            #[serde(default)]
            kind: Option<String>,
            #[serde(default)]
            received_at: Option<String>,
            #[serde(default)]
            signature_header: Option<String>,
            #[serde(default)]
            body: Option<String>,
            #[serde(default)]
            body_base64: Option<String>,
            #[serde(default)]
            source: Option<String>,
            #[serde(default)]
            file_sha256: Option<String>,
            #[serde(default)]
            line: Option<u64>,
            #[serde(default)]
            line_text: Option<String>,
            #[serde(default)]
            imported_at: Option<String>,
            #[serde(default)]
            principal: Option<String>,
            #[serde(default)]
            channel: Option<String>,
            #[serde(default)]
            reference: Option<String>,
            #[serde(default)]
            source_ip: Option<String>,
            #[serde(default)]
            request_id: Option<String>,
        }
        let either = Either::deserialize(deserializer)?;
        fn field<T, E: serde::de::Error>(value: Option<T>, name: &'static str) -> Result<T, E> {
            value.ok_or_else(|| E::missing_field(name))
        }
        Ok(match either.kind.as_deref() {
            Some("api") => Self::Api(ApiRecord {
                kind: ApiKind::Api,
                principal: field(either.principal, "principal")?,
                channel: field(either.channel, "channel")?,
                reference: field(either.reference, "reference")?,
                source_ip: field(either.source_ip, "sourceIp")?,
                request_id: field(either.request_id, "requestId")?,
                received_at: field(either.received_at, "receivedAt")?,
                body: field(either.body, "body")?,
            }),
            Some("imported") => Self::Imported(Provenance {
                kind: ImportedKind::Imported,
                source: field(either.source, "source")?,
                file_sha256: field(either.file_sha256, "fileSha256")?,
                line: field(either.line, "line")?,
                line_text: field(either.line_text, "lineText")?,
                imported_at: field(either.imported_at, "importedAt")?,
            }),
            Some(other) => {
                return Err(serde::de::Error::unknown_variant(
                    other,
                    &["imported", "api"],
                ));
            }
            None => Self::Signed(Evidence {
                received_at: field(either.received_at, "receivedAt")?,
                signature_header: field(either.signature_header, "signatureHeader")?,
                body: field(either.body, "body")?,
                body_base64: either.body_base64,
            }),
        })
    }
}

/// A phone number must not be called again: key 9, a call that ended with callResult dnc,
/// the platform's dnc.created (v2 or legacy v1), or an entry of the company's own list
/// imported with `--request`. At most one per phone number, ever, company-wide; it carries
/// the earliest signal known when it was sent, with the signed request that carried it
/// (or, for `reason: imported`, the list entry's provenance).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(title = "dnc.requested", extend("$id" = "dnc.requested.schema.json"))]
pub struct DncRequested {
    pub schema_version: SchemaVersion,
    #[serde(rename = "type")]
    pub message_type: DncType,
    /// Idempotency key: one per phone number, ever (see `ids::dnc_request_id`).
    #[schemars(pattern(ids::DNC_REQUEST_ID_PATTERN))]
    pub id: String,
    /// Where the signal came from; null for a legacy (v1) dnc.created, which names no
    /// campaign. A DNC applies to every campaign.
    #[schemars(required, length(min = 1), extend("type" = ["string", "null"]))]
    pub campaign_id: Option<String>,
    #[schemars(pattern(PHONE_PATTERN))]
    pub phone: String,
    #[schemars(required, length(min = 1), extend("type" = ["string", "null"]))]
    pub external_lead_id: Option<String>,
    pub reason: DncReason,
    /// When the number was put on the list: the signal's eventTime, its dncTimestamp for
    /// dnc.created, or for an imported signal the list's `requestedAt` (else the import's
    /// time).
    #[schemars(extend("format" = "date-time"))]
    pub requested_at: String,
    pub source: DncSource,
    /// The signed request, or for `reason: imported` the list entry's provenance.
    pub evidence: SignalEvidence,
}

/// An authentic webhook body that could not be parsed, broke a field rule or could never
/// be stored, or something the relay could never send (reason `relay: ...`), kept on the
/// quarantine queue for replay (`call-events-replay`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(title = "quarantine record", extend("$id" = "quarantine.schema.json"))]
pub struct QuarantineRecord {
    /// When it was received (RFC 3339, UTC).
    #[schemars(extend("format" = "date-time"))]
    pub received_at: String,
    /// The field and the rule it broke, e.g. `data.phone: must be an E.164 number ...`.
    #[schemars(length(min = 1))]
    pub reason: String,
    /// The raw request body as received; when its bytes are not kept exactly as text, a
    /// preview for people (bytes that are not UTF-8 replaced by U+FFFD), and `bodyBase64`
    /// holds them.
    pub body: String,
    /// The body's exact bytes in base64, when `body` is not them: whatever checks a
    /// signature uses these ([`QuarantineRecord::bytes`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// The aktify-signature header of the request, when it was one: a replayed DNC signal
    /// keeps it as its evidence. Absent in records of the first release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_header: Option<String>,
}

impl QuarantineRecord {
    pub fn new(received_at: impl Into<String>, reason: impl Into<String>, body: &[u8]) -> Self {
        let KeptBody { text, base64 } = KeptBody::of(body);
        Self {
            received_at: received_at.into(),
            reason: reason.into(),
            body: text,
            body_base64: base64,
            signature_header: None,
        }
    }

    /// The exact bytes received.
    pub fn bytes(&self) -> Result<Cow<'_, [u8]>, BodyError> {
        body_bytes(&self.body, self.body_base64.as_deref())
    }

    /// The record of a webhook request, with the header it was signed with.
    pub fn signed(mut self, signature_header: Option<&str>) -> Self {
        self.signature_header = signature_header.map(str::to_owned);
        self
    }
}

/// A message from the callback or DNC queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    Callback(CallbackScheduled),
    Dnc(DncRequested),
}

/// Why a body is not a message this crate knows.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not JSON, or a known type with a field missing or wrong.
    #[error("not a valid message: {0}")]
    Invalid(#[source] serde_json::Error),
    /// A `type` this reader does not know.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
}

impl Message {
    /// Reads a queue message's body, by its `type`.
    pub fn from_json(body: &str) -> Result<Self, ParseError> {
        #[derive(Deserialize)]
        struct Tag<'a> {
            #[serde(rename = "type", borrow)]
            message_type: Cow<'a, str>,
        }
        let tag: Tag = serde_json::from_str(body).map_err(ParseError::Invalid)?;
        match &*tag.message_type {
            CALLBACK_TYPE => serde_json::from_str(body)
                .map(Self::Callback)
                .map_err(ParseError::Invalid),
            DNC_TYPE => serde_json::from_str(body)
                .map(Self::Dnc)
                .map_err(ParseError::Invalid),
            other => Err(ParseError::UnknownType(other.to_owned())),
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Self::Callback(m) => &m.id,
            Self::Dnc(m) => &m.id,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Callback(_) => CALLBACK_TYPE,
            Self::Dnc(_) => DNC_TYPE,
        }
    }
}

/// A JSON string escapes some text at up to 6 bytes a byte (`\u0001`): text whose escaped
/// form would pass this is kept in base64 (4 bytes for 3) instead, so that a 256 KiB body
/// always fits in an SQS message (1 MiB) and a DynamoDB item (400 KB).
pub const TEXT_ESCAPED_BUDGET: usize = 320 * 1024;
/// What `body` keeps of a body held in base64: a preview for people, this many bytes at most.
pub const BODY_PREVIEW_BYTES: usize = 8 * 1024;

/// A request body as the records keep it: as text when its bytes are UTF-8 (and cheap to
/// escape), else a preview as text and the exact bytes in base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptBody {
    pub text: String,
    pub base64: Option<String>,
}

impl KeptBody {
    pub fn of(bytes: &[u8]) -> Self {
        use base64::Engine;
        match std::str::from_utf8(bytes) {
            Ok(text) if json_escaped_len(text) <= TEXT_ESCAPED_BUDGET => Self {
                text: text.to_owned(),
                base64: None,
            },
            _ => Self {
                text: preview(bytes),
                base64: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            },
        }
    }
}

/// A kept body whose base64 does not decode (edited by hand, or not written by this code).
#[derive(Debug, thiserror::Error)]
#[error("bodyBase64 is not valid base64: {0}")]
pub struct BodyError(#[source] base64::DecodeError);

/// The exact bytes of a kept body: `base64` when present, else the text.
pub fn body_bytes<'a>(text: &'a str, base64: Option<&str>) -> Result<Cow<'a, [u8]>, BodyError> {
    use base64::Engine;
    match base64 {
        None => Ok(Cow::Borrowed(text.as_bytes())),
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map(Cow::Owned)
            .map_err(BodyError),
    }
}

/// The length of `text` as a JSON string's content, escapes included (as [`to_json`]
/// writes it: control characters and those SQS refuses as `\uXXXX`).
pub fn json_escaped_len(text: &str) -> usize {
    text.chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            '\u{0}'..='\u{1f}' => 6,
            c if !sqs_accepts(c) => 6,
            c => c.len_utf8(),
        })
        .sum()
}

/// Does SQS take `c` in a message body or a string attribute? Only XML 1.0's characters:
/// #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF. It answers any other with
/// `InvalidMessageContents`, for good.
pub fn sqs_accepts(c: char) -> bool {
    matches!(
        c,
        '\u{9}' | '\u{a}' | '\u{d}' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..
    )
}

/// `text` with every character SQS refuses written as a JSON escape, `\uXXXX` (each is in
/// the Basic Multilingual Plane, so four digits always do). In a JSON document, where such
/// a character can only stand inside a string, the result is the same JSON value; in a
/// message attribute it is a readable stand-in, the exact value being in the body.
pub fn sqs_safe(text: &str) -> Cow<'_, str> {
    if text.chars().all(sqs_accepts) {
        return Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match sqs_accepts(c) {
            true => safe.push(c),
            false => safe.push_str(&format!("\\u{:04x}", u32::from(c))),
        }
    }
    Cow::Owned(safe)
}

/// The lossy rendering of `bytes` (U+FFFD for what is not UTF-8), cut to
/// [`BODY_PREVIEW_BYTES`] at a character boundary.
pub fn preview(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(BODY_PREVIEW_BYTES)];
    let mut text = String::from_utf8_lossy(head).into_owned();
    let mut end = text.len().min(BODY_PREVIEW_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

/// Serializes a message body, with only characters SQS takes ([`sqs_safe`]). These types
/// hold only strings, enums and options, so JSON serialization cannot fail; the fallback is
/// unreachable.
pub fn to_json<T: Serialize>(message: &T) -> String {
    let json = serde_json::to_string(message).unwrap_or_default();
    match sqs_safe(&json) {
        Cow::Borrowed(_) => json,
        Cow::Owned(safe) => safe,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLBACK: &str = r#"{"schemaVersion":1,"type":"callback.scheduled","id":"callback-0123456789abcdef0123456789abcdef","campaignId":"c1","phone":"+12025550100","externalLeadId":null,"scheduledTime":"2024-01-28T14:00:00.000Z","source":{"eventType":"lead.call_scheduled","eventTime":"2024-01-28T12:00:00.000Z","eventId":"evt_0123456789abcdef0123456789abcdef"}}"#;

    #[test]
    fn a_callback_reads_and_writes_back_the_same_bytes() {
        let Ok(Message::Callback(callback)) = Message::from_json(CALLBACK) else {
            panic!("not read as a callback");
        };
        assert_eq!(callback.external_lead_id, None);
        assert_eq!(to_json(&callback), CALLBACK);
    }

    #[test]
    fn a_field_added_within_version_1_is_ignored() {
        let body = CALLBACK.replacen('{', r#"{"priority":"high","#, 1);
        assert!(matches!(
            Message::from_json(&body),
            Ok(Message::Callback(_))
        ));
    }

    #[test]
    fn another_schema_version_is_refused() {
        let body = CALLBACK.replace(r#""schemaVersion":1"#, r#""schemaVersion":2"#);
        let error = Message::from_json(&body).unwrap_err().to_string();
        assert!(error.contains("schemaVersion 2"), "{error}");
    }

    #[test]
    fn an_unknown_type_or_a_broken_body_is_an_error_not_a_panic() {
        let body = CALLBACK.replace("callback.scheduled", "lead.deleted");
        assert!(
            matches!(Message::from_json(&body), Err(ParseError::UnknownType(t)) if t == "lead.deleted")
        );
        for broken in [
            "",
            "null",
            "[]",
            r#"{"type":1}"#,
            r#"{"type":"dnc.requested"}"#,
        ] {
            assert!(
                matches!(Message::from_json(broken), Err(ParseError::Invalid(_))),
                "{broken}"
            );
        }
    }

    #[test]
    fn a_utf8_body_is_kept_as_its_text() {
        let kept = KeptBody::of("{\"a\":\"é\"}".as_bytes());
        assert_eq!(kept.text, "{\"a\":\"é\"}");
        assert_eq!(kept.base64, None);
    }

    #[test]
    fn a_body_that_is_not_utf8_is_kept_exactly_in_base64_with_a_short_preview() {
        let latin1: Vec<u8> = (0..200 * 1024).map(|i| [b'a', 0xe9][i % 2]).collect();
        let record = QuarantineRecord::new("2024-01-28T12:00:00Z", "r", &latin1);
        assert_eq!(record.bytes().unwrap().as_ref(), latin1.as_slice());
        assert!(record.body.len() <= BODY_PREVIEW_BYTES);
        assert!(record.body.starts_with("a\u{fffd}a"));
        let again: QuarantineRecord = serde_json::from_str(&to_json(&record)).unwrap();
        assert_eq!(again.bytes().unwrap().as_ref(), latin1.as_slice());
        let evidence = Evidence::of_request("t".into(), "h".into(), &latin1);
        assert_eq!(evidence.bytes().unwrap().as_ref(), latin1.as_slice());
    }

    #[test]
    fn text_that_would_escape_past_its_budget_is_kept_in_base64_so_every_body_fits_a_message() {
        let controls = vec![0x01u8; 256 * 1024];
        let record = QuarantineRecord::new("2024-01-28T12:00:00Z", "r", &controls);
        assert!(record.body_base64.is_some());
        assert_eq!(record.bytes().unwrap().as_ref(), controls.as_slice());
        // The worst case of each form stays well under SQS's 1 MiB (and DynamoDB's 400 KB
        // for the unescaped item).
        let text = "\u{1}".repeat(TEXT_ESCAPED_BUDGET / 6);
        let as_text = QuarantineRecord::new("t", "r", text.as_bytes());
        assert_eq!(as_text.body_base64, None);
        for record in [record, as_text] {
            assert!(
                to_json(&record).len() < 512 * 1024,
                "{}",
                to_json(&record).len()
            );
        }
    }

    #[test]
    fn records_without_bodybase64_read_as_before() {
        let record: QuarantineRecord =
            serde_json::from_str(r#"{"receivedAt":"t","reason":"r","body":"{}"}"#).unwrap();
        assert_eq!(record.bytes().unwrap().as_ref(), b"{}");
        assert!(!to_json(&record).contains("bodyBase64"));
    }

    #[test]
    fn the_type_constants_are_what_the_types_write() {
        assert_eq!(
            to_json(&CallbackType::CallbackScheduled),
            format!("\"{CALLBACK_TYPE}\"")
        );
        assert_eq!(to_json(&DncType::DncRequested), format!("\"{DNC_TYPE}\""));
    }

    #[test]
    fn reasons_name_the_event_type_that_carries_them() {
        let names: Vec<String> = DncReason::ALL
            .iter()
            .map(|r| to_json(&r.event_type()))
            .collect();
        assert_eq!(
            names,
            [
                r#""lead.call_key_pressed""#,
                r#""lead.call_ended""#,
                r#""dnc.created""#,
                r#""import""#,
                r#""api""#
            ]
        );
        for reason in DncReason::ALL {
            assert_eq!(to_json(&reason), format!("\"{}\"", reason.as_str()));
        }
    }

    #[test]
    fn an_api_record_reads_back_by_its_kind_and_names_what_it_lacks() {
        let record = ApiRecord {
            kind: ApiKind::Api,
            principal: "arn:aws:iam::1:user/desk".into(),
            channel: "agent".into(),
            reference: "call-1".into(),
            source_ip: "10.0.0.1".into(),
            request_id: "r-1".into(),
            received_at: "2026-12-08T10:00:00.000Z".into(),
            body: "{}".into(),
        };
        let json = to_json(&SignalEvidence::from(record.clone()));
        assert!(json.contains(r#""kind":"api""#), "{json}");
        let read: SignalEvidence = serde_json::from_str(&json).unwrap();
        assert_eq!(read.api(), Some(&record));
        assert_eq!(
            (read.kind(), read.signed(), read.imported()),
            ("api", None, None)
        );
        let missing = json.replace(r#""principal":"arn:aws:iam::1:user/desk","#, "");
        let e = serde_json::from_str::<SignalEvidence>(&missing).unwrap_err();
        assert!(e.to_string().contains("principal"), "{e}");
        let unknown = json.replace(r#""kind":"api""#, r#""kind":"fax""#);
        assert!(serde_json::from_str::<SignalEvidence>(&unknown).is_err());
    }

    #[test]
    fn evidence_reads_as_signed_without_a_kind_and_as_provenance_with_one() {
        let signed = r#"{"receivedAt":"2024-01-28T12:00:01.000Z","signatureHeader":"t=1,v2=00","body":"{}"}"#;
        let read: SignalEvidence = serde_json::from_str(signed).unwrap();
        assert!(read.signed().is_some());
        assert_eq!(
            to_json(&read),
            signed,
            "a signed evidence's bytes as before"
        );
        let imported = r#"{"kind":"imported","source":"crm","fileSha256":"00","line":2,"lineText":"+12025550100","importedAt":"2026-12-06T00:00:00.000Z"}"#;
        let read: SignalEvidence = serde_json::from_str(imported).unwrap();
        assert_eq!(read.imported().map(|p| p.line), Some(2));
        assert_eq!(to_json(&read), imported);
        let broken = r#"{"kind":"imported","source":"crm"}"#;
        let error = serde_json::from_str::<SignalEvidence>(broken).unwrap_err();
        assert!(error.to_string().contains("fileSha256"), "{error}");
    }
}
