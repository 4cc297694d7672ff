//! The ports in memory, for fast tests of the use cases' edge paths: the lead table and its
//! stream, the DNC register, the queues and the quarantine queue. Tables go through the same
//! item codec as on DynamoDB.

pub mod publisher;
pub mod quarantine;
pub mod secrets;
pub mod store;
pub mod stream;

pub use publisher::MemoryPublisher;
pub use quarantine::MemoryQuarantineQueue;
pub use secrets::MemorySecrets;
pub use store::{MemoryDncRegister, MemoryLeadStore};
pub use stream::{MemoryStreamShards, StreamPlan};
