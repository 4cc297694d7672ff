//! `call-events-dnc prove`: one phone's opt-out, proven from its register entry and the
//! signed request kept with it (docs/contract.md §8).

use std::path::Path;
use std::process::ExitCode;

use call_events::adapters::output_file::Replacing;
use call_events::adapters::{DynamoDncRegister, DynamoLeadStore};
use call_events::core::dial_list::{Country, read_phone};
use call_events::core::domain::Timestamp;
use call_events::core::proof::prove;
use call_events::core::proof_page::page;
use call_events::telemetry::error_chain;

use crate::operator::{could_not, prover};

pub async fn prove_phone(
    phone: &str,
    default_country: &str,
    json: bool,
    html: Option<&Path>,
) -> ExitCode {
    // The phone read as import and scrub read it: E.164 as the webhook takes it, else a
    // national number of the default country.
    let parsed = match Country::parse(default_country).and_then(|country| {
        read_phone(phone, country).map_err(|why| {
            format!("{phone:?} is not a phone ({why}): E.164, or a valid national number of {default_country}")
        })
    }) {
        Ok(parsed) => parsed,
        Err(e) => return could_not("prove", e),
    };
    let (config, sdk, verifier) = match prover("prove").await {
        Ok(prover) => prover,
        Err(code) => return code,
    };
    let Some(table) = config.table_name.as_deref() else {
        return could_not(
            "prove",
            "TABLE_NAME is not set (prove lists the phone's leads)",
        );
    };
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let register = DynamoDncRegister::new(client.clone(), &config.dnc_table_name);
    let leads = DynamoLeadStore::new(client, table);
    let (found, flags) = tokio::join!(register.find(&parsed), leads.lead_flags(&parsed));
    let (found, flags) = match (found, flags) {
        (Ok(found), Ok(flags)) => (found, flags),
        (Err(e), _) | (_, Err(e)) => {
            return could_not("prove", format!("cannot read: {}", error_chain(&e)));
        }
    };
    let proof = prove(parsed.as_str(), found, flags, &verifier);
    if let Some(path) = html
        && let Err(e) = write_page(path, &page(&proof, Timestamp::now()))
    {
        return could_not("prove", e);
    }
    if json {
        match serde_json::to_string_pretty(&proof) {
            Ok(text) => println!("{text}"),
            Err(e) => return could_not("prove", e),
        }
    } else {
        println!("{}", proof.report());
    }
    ExitCode::from(proof.verdict.exit_code())
}

/// The page written beside its target and renamed over it when complete.
fn write_page(path: &std::path::Path, page: &str) -> Result<(), String> {
    use std::io::Write;
    let mut file = Replacing::create(path)?;
    file.write_all(page.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.commit()
}
