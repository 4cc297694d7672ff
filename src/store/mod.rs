//! The lead table: its item format ([`item`]), on DynamoDB ([`dynamodb`]) and in memory
//! ([`memory`], for fast tests of the use cases).

pub mod dynamodb;
pub mod item;
pub mod memory;

pub use dynamodb::DynamoLeadStore;
pub use memory::MemoryLeadStore;
