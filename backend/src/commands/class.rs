//! `streamlab class tokens`: a token per student of the roster, to hand out. The same
//! secret and roster print the same tokens, so nothing needs storing.
//!
//! `streamlab class apply`: the same class's rights made so on a Kafka cluster with SASL and
//! an authorizer (a user per student, her ACLs; see `exercises::rights`). `streamlab class
//! acls` prints them as rpk commands for Redpanda. The lab enforces namespaces on its own API
//! only; a student's Kafka client talks to the broker directly, and only a broker with
//! authentication and ACLs can hold it to `NAME.*`.

use super::table::table;
use crate::cli::{KafkaArgs, OutputFormat};
use crate::exercises::class::Class;
use crate::exercises::load_roster;
use crate::exercises::rights::{self, UserChange};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ClassCommand {
    /// Print a token per student (stable: the same secret and roster give the same tokens).
    Tokens(ClassTokensArgs),
    /// Print the rpk commands that give each student of the roster `NAME.*` on a Redpanda
    /// cluster with SASL (the embedded broker enforces no rights at the Kafka level).
    Acls(ClassAclsArgs),
    /// Give each student of the roster her user (her class token as SCRAM-SHA-256 password)
    /// and her rights on the cluster of --brokers, which must check them (`./lab kafka start
    /// --sasl`): everything on topics and groups `NAME.*`, reading the lab's topics. Run with
    /// a super user's -X settings. A second run changes nothing; a student no longer on the
    /// roster loses her user and rights.
    Apply(ClassApplyArgs),
}

#[derive(Debug, Args)]
pub struct ClassApplyArgs {
    /// The class: one student name per line.
    #[arg(long, env = "STREAMLAB_ROSTER", value_name = "FILE")]
    pub roster: PathBuf,
    /// The secret the class tokens (the students' passwords) derive from.
    #[arg(long, env = "STREAMLAB_CLASS_SECRET", hide_env_values = true)]
    pub class_secret: Option<String>,
    /// The lab's topics, which every student may read (repeatable).
    #[arg(long = "lab-topic", value_name = "TOPIC", default_values = streamlab_wire::topics::ALL)]
    pub lab_topics: Vec<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct ClassAclsArgs {
    /// The class: one student name per line.
    #[arg(long, env = "STREAMLAB_ROSTER", value_name = "FILE")]
    pub roster: PathBuf,
    /// With the class secret, each student's SASL password is her class token, so a student
    /// has one secret for the lab and the cluster.
    #[arg(long, env = "STREAMLAB_CLASS_SECRET", hide_env_values = true)]
    pub class_secret: Option<String>,
}

#[derive(Debug, Args)]
pub struct ClassTokensArgs {
    /// The class: one student name per line.
    #[arg(long, env = "STREAMLAB_ROSTER", value_name = "FILE")]
    pub roster: PathBuf,
    /// The secret the tokens derive from; start the lab with the same one.
    #[arg(long, env = "STREAMLAB_CLASS_SECRET", hide_env_values = true)]
    pub class_secret: Option<String>,
    /// The tokens' last valid day (YYYY-MM-DD); without it they never expire.
    #[arg(long, value_name = "DATE")]
    pub last_day: Option<String>,
    /// Print CSV (student,token) to hand out or mail-merge.
    #[arg(long)]
    pub csv: bool,
}

pub async fn run(command: ClassCommand, kafka: &KafkaArgs) -> anyhow::Result<ExitCode> {
    match command {
        ClassCommand::Tokens(args) => tokens(args),
        ClassCommand::Acls(args) => acls(args),
        ClassCommand::Apply(args) => apply(args, kafka).await,
    }
}

async fn apply(args: ClassApplyArgs, kafka: &KafkaArgs) -> anyhow::Result<ExitCode> {
    let secret = class_secret(args.class_secret.as_deref())?;
    let Some(cluster) = kafka.external() else {
        anyhow::bail!(
            "name the cluster with --brokers HOST:PORT and a super user's -X settings (the lab's embedded \
             broker checks no rights): ./lab kafka start --sasl prints both"
        );
    };
    let class = Class::new(secret, load_roster(&args.roster)?);
    let topics = args.lab_topics;
    let changes = tokio::task::spawn_blocking(move || rights::apply(&cluster, &class, &topics)).await??;
    let out = &mut std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            let rows: Vec<_> = changes
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "student": c.student,
                        "user": user_word(c.user),
                        "acls_created": c.add.iter().map(ToString::to_string).collect::<Vec<_>>(),
                        "acls_removed": c.remove.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    })
                })
                .collect();
            writeln!(out, "{}", serde_json::Value::Array(rows))?;
        }
        OutputFormat::Text => {
            let rows: Vec<Vec<String>> = changes
                .iter()
                .map(|c| {
                    vec![
                        c.student.clone(),
                        user_word(c.user).to_owned(),
                        c.add.len().to_string(),
                        c.remove.len().to_string(),
                    ]
                })
                .collect();
            table(out, &["STUDENT", "USER", "ACLS-CREATED", "ACLS-REMOVED"], &rows)?;
            writeln!(out, "{}", rights::summary(&changes))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn user_word(change: UserChange) -> &'static str {
    match change {
        UserChange::Create => "created",
        UserChange::Reset => "password set",
        UserChange::Keep => "kept",
        UserChange::Remove => "removed",
    }
}

/// The class secret, or what to do without one.
fn class_secret(given: Option<&str>) -> anyhow::Result<&str> {
    let secret = given.filter(|s| !s.is_empty()).ok_or_else(|| {
        anyhow::anyhow!(
            "class tokens derive from a class secret: give it with --class-secret SECRET (env \
             STREAMLAB_CLASS_SECRET), any long random text you keep, e.g. {}. Start the lab with the \
             same secret and --roster.",
            suggest_secret()
        )
    })?;
    anyhow::ensure!(
        secret.len() >= 16,
        "the class secret is too short to keep tokens unguessable: use 16 characters or more"
    );
    Ok(secret)
}

fn tokens(args: ClassTokensArgs) -> anyhow::Result<ExitCode> {
    let secret = class_secret(args.class_secret.as_deref())?;
    let roster = load_roster(&args.roster)?;
    let class = Class::new(secret, roster);
    let rows = class
        .roster()
        .iter()
        .map(|s| class.token(s, args.last_day.as_deref()).map(|t| (s.clone(), t)))
        .collect::<Result<Vec<_>, _>>()?;
    if args.csv {
        println!("student,token");
        for (s, t) in &rows {
            // Names and tokens are letters, digits, '-', '_' and '.': nothing to quote.
            println!("{s},{t}");
        }
    } else {
        let width = rows.iter().map(|(s, _)| s.len()).max().unwrap_or(0);
        for (s, t) in &rows {
            println!("{s:<width$}  {t}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn acls(args: ClassAclsArgs) -> anyhow::Result<ExitCode> {
    let roster = load_roster(&args.roster)?;
    let class = args.class_secret.as_deref().filter(|s| !s.is_empty()).map(|s| Class::new(s, roster.clone()));
    print!("{}", acl_script(&roster, class.as_ref()));
    Ok(ExitCode::SUCCESS)
}

/// The rpk commands (Redpanda 23.3 or newer) for the class: a SCRAM user per student, all
/// rights on topics and groups prefixed `NAME.`, read on the lab's topics.
fn acl_script(roster: &[String], class: Option<&Class>) -> String {
    let mut out = String::from(
        "# Run against the course's Redpanda with SASL enabled (rpk cluster config set enable_sasl true),\n\
         # as its superuser (-X user=... -X pass=... -X sasl.mechanism=SCRAM-SHA-256).\n",
    );
    for student in roster {
        out.push_str(&format!("\n# {student}\n"));
        let password = match class.map(|c| c.token(student, None)) {
            Some(Ok(token)) => format!("'{token}'"),
            _ => "\"$(openssl rand -base64 18)\"".to_owned(),
        };
        out.push_str(&format!("rpk security user create {student} -p {password} --mechanism SCRAM-SHA-256\n"));
        for kind in ["topic", "group"] {
            out.push_str(&format!(
                "rpk security acl create --allow-principal User:{student} --operation all \
                 --{kind} {student}. --resource-pattern-type prefixed\n"
            ));
        }
        out.push_str(&format!(
            "rpk security acl create --allow-principal User:{student} --operation read,describe --topic {}\n",
            streamlab_wire::topics::ALL.join(" --topic ")
        ));
    }
    out
}

/// A fresh random secret to suggest: 24 random bytes, base64.
fn suggest_secret() -> String {
    use base64::Engine;
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 24];
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_student_gets_her_prefix_and_reads_the_lab_topics() {
        let roster = vec!["alice".to_owned(), "bob".to_owned()];
        let class = Class::new("a class secret of some length", roster.clone());
        let script = acl_script(&roster, Some(&class));
        let alice = class.token("alice", None).unwrap();
        assert!(script.contains(&format!("rpk security user create alice -p '{alice}' --mechanism SCRAM-SHA-256")));
        for student in ["alice", "bob"] {
            for kind in ["topic", "group"] {
                let line = format!(
                    "--allow-principal User:{student} --operation all --{kind} {student}. --resource-pattern-type prefixed"
                );
                assert!(script.contains(&line), "{line} missing:\n{script}");
            }
            assert!(script.contains(&format!(
                "User:{student} --operation read,describe --topic mushroom_inference_request --topic mushroom_prediction"
            )));
        }
        assert!(!script.contains("User:alice --operation all --topic bob."), "nobody gets another's prefix");
        assert!(acl_script(&roster, None).contains("-p \"$(openssl rand -base64 18)\""), "no secret: random passwords");
    }
}
