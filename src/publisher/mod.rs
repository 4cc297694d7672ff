//! The queues the relay sends to: SQS ([`sqs`]) and in memory ([`memory`], for tests).

pub mod memory;
pub mod sqs;

pub use memory::MemoryPublisher;
pub use sqs::{QueueUrls, SqsPublisher, SqsQuarantineQueue};
