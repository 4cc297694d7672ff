//! The operator's command for the DNC register (docs/contract.md §8): prove an opt-out,
//! export the register with each entry's verdict, import a list the company already keeps,
//! scrub a dial list against it, and the register's repairs. A thin main: each subcommand is its own module.

mod export;
mod import;
mod operator;
#[cfg(feature = "functions")]
mod parked;
mod prove;
mod repair;
mod scrub;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// The DNC register, for its operators.
///
/// Exit status: 0 done (prove: proven), 1 (prove) not on the register or (import) some
/// lines refused, 2 (prove) on the register but not proven, 4 (prove) on the register from
/// an imported list only, 3 anything else (bad arguments, configuration, AWS unreachable),
/// with one line saying what.
#[derive(Debug, Parser)]
#[command(name = "call-events-dnc", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Proves a phone's opt-out: its register entry, the signed request of its first DNC
    /// signal checked with the webhook's secrets, when its DNC request reached SQS, and its
    /// leads.
    ///
    /// The first line is the verdict: PROVEN, NOT ON THE REGISTER, NOT PROVEN and why, or
    /// IMPORTED, NOT SIGNED (an entry of an imported list, its provenance shown). Exit 0
    /// proven, 1 not on the register, 2 not proven, 4 imported only, 3 could not tell. Reads only:
    /// one consistent GetItem on the register, one Query on the lead table. Needs
    /// DNC_TABLE_NAME, TABLE_NAME, WEBHOOK_SECRET_ARN (or WEBHOOK_SECRET: a list, where
    /// secrets since removed can be added), ACCEPT_LEGACY_V1_SIGNATURES, and the AWS SDK's
    /// own environment (AWS_REGION, credentials; AWS_ENDPOINT_URL for a local emulator).
    Prove {
        /// The phone: E.164 (+12025550100) taken as the webhook takes it, or a national
        /// number read in --default-country ("(202) 555-0100"), as import and scrub read it.
        phone: String,
        /// The country whose numbering plan reads a national number (ISO 3166 alpha-2).
        #[arg(long, default_value = "US")]
        default_country: String,
        /// Prints one JSON object (docs/contract.md §8), to hand on as it is.
        #[arg(long)]
        json: bool,
        /// Also writes the proof as one self-contained page to print and hand to counsel:
        /// the timeline drawn with the business days, the request as received, and how to
        /// verify its signature with openssl. Written beside FILE and renamed over it when
        /// complete.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Writes every register entry with its verdict (phone, dncAt, reason, campaignId,
    /// requestState, requestSentAt, signals, verified, problem), one per line or row.
    ///
    /// Reads only, by a parallel scan; shows progress on a terminal. An entry that cannot
    /// be read is a row with verified false and the reason. Needs DNC_TABLE_NAME, the
    /// webhook's secrets (as for prove) and the AWS SDK's environment.
    Export {
        /// jsonl: one JSON object per line; csv: a header row, then one row per entry.
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
        /// Writes here instead of to stdout (beside FILE, renamed over it once every entry
        /// is in it; text a spreadsheet would run as a formula gets a leading ').
        #[arg(long)]
        out: Option<PathBuf>,
        /// Scan segments read at once.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
        segments: u32,
    },
    /// Puts every entry whose DNC request is pending but out of the sweep's index (entries
    /// of the first release) into it, so the sweep sends its request within minutes.
    ///
    /// Run once after upgrading from the first release (docs/deploy.md, "Upgrading").
    /// Idempotent: a second run finds nothing. Reads the register once (a scan) and writes
    /// one conditional update per entry found. Needs DNC_TABLE_NAME and the AWS SDK's own
    /// environment (AWS_REGION, credentials; AWS_ENDPOINT_URL for a local emulator).
    BackfillPending,
    /// Registers the DNC signals of something the relay parked (docs/operating.md,
    /// `RelayParkedAlarm`), and sends each phone's request if it is pending.
    ///
    /// FILE holds the parked item's `body` as it is (or the quarantine record's): a DNC
    /// signal as the relay parked it, or an unreadable stream record's new image (DynamoDB
    /// JSON) after you fixed what its reason names. Safe to run again: the register keeps a
    /// signal once, and a phone's request is sent once. Needs the relay's environment
    /// (TABLE_NAME, DNC_TABLE_NAME, CALLBACK_QUEUE_URL, DNC_QUEUE_URL,
    /// QUARANTINE_QUEUE_URL).
    #[cfg(feature = "functions")]
    RegisterParked {
        /// The parked body, in a file.
        file: PathBuf,
    },
    /// Puts a DNC list the company already keeps on the register.
    ///
    /// FILE is a CSV with a header row (a `phone` column, optional `requestedAt`: a date
    /// or an RFC 3339 time; other columns are kept in each line's provenance) or one phone a
    /// line. Each phone gets an imported signal whose evidence is its provenance (--source,
    /// the file's SHA-256, the line's number and text, the import's time) and whose time is
    /// its requestedAt, or the import's. The register's rules hold: the earliest signal
    /// stays first; the same file imported again changes nothing. A phone in E.164 is taken
    /// as the webhook takes it; a national number is read in --default-country. Bad lines
    /// are listed with their number and skipped. Exit 0 every line taken, 1 some refused,
    /// 3 could not import. Needs DNC_TABLE_NAME and the AWS SDK's own environment.
    Import {
        /// The list.
        file: PathBuf,
        /// The list's name, kept in each entry's provenance (crm, dialer-2024, ...).
        #[arg(long)]
        source: String,
        /// The country whose numbering plan reads a national number (ISO 3166 alpha-2).
        #[arg(long, default_value = "US")]
        default_country: String,
        /// Each phone new to the register is owed a DNC request (pending, sent by the
        /// sweep). Without it, an imported entry owes none until the platform reports the
        /// phone.
        #[arg(long)]
        request: bool,
        /// Writes nothing if any line is bad.
        #[arg(long)]
        strict: bool,
        /// Reads the register and says what the import would do; writes nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Removes the register's phones from a dial list before the dialer loads it.
    ///
    /// FILE is a CSV with a header row (the phone in the column --phone-column names, or in
    /// a column named `phone`) or one phone a line. A phone in E.164 is taken as the webhook
    /// takes it; a national number is read in --default-country. The rows whose phone is not
    /// on the register go to --out (stdout by default) in their order, byte for byte, the
    /// header row first; the removed rows go to --removed, with why (`dnc` with the entry's
    /// dncAt, reason, signal kind and channel, or `invalid phone`). Each output is written
    /// beside its target and renamed over it when complete; an output naming the list (or
    /// the other output) is refused before anything is written. An empty file is exit 0; a
    /// first row with several columns and none named phone is exit 3. Reads only: consistent BatchGetItems of
    /// 100 phones, several at once. It checks this company's register only: the national
    /// and state do-not-call registries are a separate obligation. Needs DNC_TABLE_NAME and
    /// the AWS SDK's own environment.
    Scrub {
        /// The dial list.
        file: PathBuf,
        /// The column that holds the phone (the first row is then a header).
        #[arg(long)]
        phone_column: Option<String>,
        /// Where the rows that stay go (stdout by default).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Where the removed rows go, with why (a CSV: line, why, dncAt, reason, kind,
        /// channel, row; line is the row's physical line in FILE).
        #[arg(long)]
        removed: Option<PathBuf>,
        /// The country whose numbering plan reads a national number (ISO 3166 alpha-2).
        #[arg(long, default_value = "US")]
        default_country: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Jsonl,
    Csv,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print and succeed; anything else is a bad argument: 3.
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 3 } else { 0 });
        }
    };
    match cli.command {
        Command::Prove {
            phone,
            default_country,
            json,
            html,
        } => prove::prove_phone(&phone, &default_country, json, html.as_deref()).await,
        Command::Export {
            format,
            out,
            segments,
        } => export::export(format, out.as_deref(), segments).await,
        Command::BackfillPending => repair::backfill_pending().await,
        #[cfg(feature = "functions")]
        Command::RegisterParked { file } => parked::register_parked(&file).await,
        Command::Import {
            file,
            source,
            default_country,
            request,
            strict,
            dry_run,
        } => {
            let asked = import::Asked {
                file,
                source,
                default_country,
                request,
                strict,
                dry_run,
            };
            import::import(asked).await
        }
        Command::Scrub {
            file,
            phone_column,
            out,
            removed,
            default_country,
        } => {
            let asked = scrub::Asked {
                file,
                phone_column,
                out,
                removed,
                default_country,
            };
            scrub::scrub(asked).await
        }
    }
}
