//! A secret rotated without a deploy (docs/contract.md §6), on the in-memory secret store:
//! a warm instance reads the secret again when a request's signature matches none it holds,
//! at most once every 30 s, one read for a burst, and keeps what it holds when a read
//! fails.

use std::time::Duration;

use call_events::adapters::MemorySecrets;
use call_events::core::signature::{Secret, SignatureError, Verifier, sign_v2};
use call_events::usecases::keyring::{HELD_AT_MOST, Keyring, READ_AT_MOST, REFRESH_EVERY};

const OLD: &str = "the-old-secret-0123456789";
const NEW: &str = "the-new-secret-0123456789";
const BODY: &[u8] = b"{}";

fn secret(s: &str) -> Secret {
    Secret::new(s).unwrap()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn signed_with(s: &str) -> String {
    sign_v2(&secret(s), now_ms(), BODY)
}

fn warm_instance(store: &MemorySecrets) -> Keyring<MemorySecrets> {
    Keyring::new(Verifier::new(vec![secret(OLD)], 300), Some(store.clone()))
}

#[tokio::test(start_paused = true)]
async fn a_secret_added_to_the_store_is_accepted_by_a_warm_instance_without_a_deploy() {
    let store = MemorySecrets::new(vec![secret(OLD)]);
    let keyring = warm_instance(&store);
    let new = signed_with(NEW);
    assert_eq!(
        keyring.verify(Some(&new), BODY, now_ms()).await,
        Err(SignatureError::Mismatch)
    );
    // The rotation: add the new secret; the platform switches to it.
    store.put(vec![secret(NEW), secret(OLD)]);
    tokio::time::advance(REFRESH_EVERY).await;
    assert_eq!(keyring.verify(Some(&new), BODY, now_ms()).await, Ok(()));
    assert_eq!(
        keyring
            .verify(Some(&signed_with(OLD)), BODY, now_ms())
            .await,
        Ok(())
    );
    assert_eq!(store.reads(), 2);
    // Secrets that keep matching are not read again for a while.
    for _ in 0..100 {
        assert_eq!(keyring.verify(Some(&new), BODY, now_ms()).await, Ok(()));
    }
    assert_eq!(store.reads(), 2);
    // Then the old secret is removed: within HELD_AT_MOST it is refused, even if every
    // request keeps matching.
    store.put(vec![secret(NEW)]);
    tokio::time::advance(HELD_AT_MOST).await;
    assert_eq!(keyring.verify(Some(&new), BODY, now_ms()).await, Ok(()));
    assert_eq!(store.reads(), 3);
    let old = signed_with(OLD);
    assert_eq!(
        keyring.verify(Some(&old), BODY, now_ms()).await,
        Err(SignatureError::Mismatch)
    );
}

#[tokio::test(start_paused = true)]
async fn a_burst_signed_with_the_new_secret_makes_one_read() {
    let store = MemorySecrets::new(vec![secret(NEW), secret(OLD)]);
    let keyring = warm_instance(&store);
    let new = signed_with(NEW);
    let burst = (0..50).map(|_| keyring.verify(Some(&new), BODY, now_ms()));
    let answers = futures::future::join_all(burst).await;
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    assert_eq!(store.reads(), 1);
}

#[tokio::test(start_paused = true)]
async fn wrong_signatures_read_the_secret_at_most_twice_a_minute_and_unsigned_ones_never() {
    let store = MemorySecrets::new(vec![secret(OLD)]);
    let keyring = warm_instance(&store);
    let forged = signed_with("someone-elses-secret-0123");
    for _ in 0..600 {
        let _ = keyring.verify(Some(&forged), BODY, now_ms()).await;
        let _ = keyring.verify(None, BODY, now_ms()).await;
        let _ = keyring.verify(Some("t=1,v2=zz"), BODY, now_ms()).await;
        tokio::time::advance(Duration::from_millis(100)).await;
    }
    // 60 s of a flood.
    assert!(store.reads() <= 2, "{} reads", store.reads());
    let unsigned = MemorySecrets::new(vec![secret(OLD)]);
    let other = warm_instance(&unsigned);
    for _ in 0..100 {
        let _ = other.verify(None, BODY, now_ms()).await;
        let _ = other.verify(Some("t=1,v2=00"), BODY, now_ms()).await;
    }
    assert_eq!(
        unsigned.reads(),
        0,
        "a malformed or missing header never reads"
    );
}

/// A new secret cannot make a refused scheme pass: a legacy `v1` header, under
/// `ACCEPT_LEGACY_V1_SIGNATURES=false`, is refused without reading the secret.
#[tokio::test(start_paused = true)]
async fn a_refused_v1_signature_never_reads_the_secret() {
    let store = MemorySecrets::new(vec![secret(OLD)]);
    let strict = Keyring::new(
        Verifier::new(vec![secret(OLD)], 300).refusing_v1(),
        Some(store.clone()),
    );
    let v1 = format!("t={},v1={}", now_ms(), "ab".repeat(32));
    assert_eq!(
        strict.verify(Some(&v1), BODY, now_ms()).await,
        Err(SignatureError::V1Refused)
    );
    assert_eq!(store.reads(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_failed_or_empty_read_keeps_the_secrets_held() {
    let store = MemorySecrets::new(vec![secret(OLD)]);
    let keyring = warm_instance(&store);
    store.set_down(true);
    let _ = keyring
        .verify(Some(&signed_with(NEW)), BODY, now_ms())
        .await;
    assert_eq!(store.reads(), 1);
    assert_eq!(
        keyring
            .verify(Some(&signed_with(OLD)), BODY, now_ms())
            .await,
        Ok(())
    );
    store.set_down(false);
    store.put(Vec::new());
    tokio::time::advance(REFRESH_EVERY).await;
    let _ = keyring
        .verify(Some(&signed_with(NEW)), BODY, now_ms())
        .await;
    assert_eq!(store.reads(), 2);
    assert_eq!(
        keyring
            .verify(Some(&signed_with(OLD)), BODY, now_ms())
            .await,
        Ok(())
    );
}

#[tokio::test]
async fn fixed_secrets_are_never_read_again() {
    let keyring: Keyring<MemorySecrets> = Keyring::new(Verifier::new(vec![secret(OLD)], 300), None);
    assert_eq!(
        keyring
            .verify(Some(&signed_with(NEW)), BODY, now_ms())
            .await,
        Err(SignatureError::Mismatch)
    );
}

/// A slow Secrets Manager holds up the request that reads it by at most READ_AT_MOST, so
/// the signature check and the 7 s receive deadline end inside the function's 10 s; the
/// secrets held stay in use.
#[tokio::test(start_paused = true)]
async fn a_slow_secret_store_holds_a_request_up_at_most_two_seconds() {
    let store = MemorySecrets::new(vec![secret(NEW), secret(OLD)]);
    store.set_latency(Duration::from_secs(6));
    let keyring = warm_instance(&store);
    let started = tokio::time::Instant::now();
    let new = signed_with(NEW);
    assert_eq!(
        keyring.verify(Some(&new), BODY, now_ms()).await,
        Err(SignatureError::Mismatch)
    );
    assert!(started.elapsed() <= READ_AT_MOST + Duration::from_millis(10));
    // Matching secrets held for long: the read is tried, bounded, and they stay in use.
    tokio::time::advance(HELD_AT_MOST).await;
    let started = tokio::time::Instant::now();
    let old = signed_with(OLD);
    assert_eq!(keyring.verify(Some(&old), BODY, now_ms()).await, Ok(()));
    assert!(started.elapsed() <= READ_AT_MOST + Duration::from_millis(10));
}
