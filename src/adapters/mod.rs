//! The ports' implementations: on AWS ([`dynamodb`], [`sqs`], [`s3`]) and in memory (`memory`, for
//! fast tests of the use cases: only with the `memory` feature, which the tests, benches
//! and fuzz targets turn on, so the shipped binaries never contain it). Adapters import the
//! core and the ports; the use cases never import them (`tests/architecture.rs`).
//! [`failure`] decides, in one place, which AWS failures are permanent.

pub mod dynamodb;
pub mod failure;
pub mod list_file;
#[cfg(any(test, feature = "memory"))]
pub mod memory;
pub mod output_file;
#[cfg(feature = "functions")]
pub mod s3;
pub mod secrets;
#[cfg(feature = "functions")]
pub mod sqs;

pub use dynamodb::DynamoLeadStore;
pub use dynamodb::register::DynamoDncRegister;
#[cfg(feature = "functions")]
pub use dynamodb::stream::DynamoStreamShards;
#[cfg(any(test, feature = "memory"))]
pub use memory::{
    MemoryArchive, MemoryDncRegister, MemoryLeadStore, MemoryPublisher, MemoryQuarantineQueue,
    MemorySecrets,
};
#[cfg(feature = "functions")]
pub use s3::S3FailureArchive;
pub use secrets::SecretsManagerSecrets;
#[cfg(feature = "functions")]
pub use sqs::{SqsPublisher, SqsQuarantineQueue};

/// The queues the relay sends to, by their URLs.
#[derive(Debug, Clone)]
pub struct QueueUrls {
    pub callback: String,
    pub dnc: String,
    pub quarantine: String,
}
