//! The webhook's store, the relay and its queues and register, all in memory: the world
//! the use-case tests drive (each adds its own steps in an `impl World` of its own).

use call_events::adapters::{MemoryDncRegister, MemoryLeadStore, MemoryPublisher};
use call_events::usecases::relay::Relay;

pub type MemoryRelay = Relay<MemoryPublisher, MemoryDncRegister, MemoryLeadStore>;

pub struct World {
    pub store: MemoryLeadStore,
    pub publisher: MemoryPublisher,
    pub register: MemoryDncRegister,
    pub relay: MemoryRelay,
}

impl World {
    pub fn new() -> Self {
        let (store, publisher, register) = (
            MemoryLeadStore::new(),
            MemoryPublisher::new(),
            MemoryDncRegister::new(),
        );
        let relay = Relay::new(publisher.clone(), register.clone(), store.clone());
        Self {
            store,
            publisher,
            register,
            relay,
        }
    }
}
