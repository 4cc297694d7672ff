//! The ports in memory, for fast tests of the use cases' edge paths: the lead table and its
//! stream, the DNC register, the queues, the quarantine queue and the on-failure bucket. Tables go through the same
//! item codec as on DynamoDB.

pub mod archive;
pub mod publisher;
pub mod quarantine;
pub mod secrets;
pub mod store;
pub mod stream;

pub use archive::MemoryArchive;
pub use publisher::MemoryPublisher;
pub use quarantine::MemoryQuarantineQueue;
pub use secrets::MemorySecrets;
pub use store::{MemoryDncRegister, MemoryLeadStore};
pub use stream::{MemoryStreamShards, StreamPlan};
