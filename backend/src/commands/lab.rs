//! `streamlab` with no command: the whole lab in one process (see [`crate::lab`]). This
//! module only turns the flags into a configuration, prints where the lab is, and runs it.

use crate::cli::{InferArgs, KafkaArgs, LabArgs};
use crate::lab::{Lab, LabConfig, bind_web};
use crate::shutdown::Shutdown;
use std::process::ExitCode;

pub async fn run(
    lab: LabArgs,
    inference: InferArgs,
    kafka: &KafkaArgs,
    shutdown: Shutdown,
) -> anyhow::Result<ExitCode> {
    let (config, web_addr) = LabConfig::from_args(&lab, &inference, kafka)?;
    let listener = bind_web(web_addr).await?;
    let started = Lab::start(&config).await?;
    let web = listener.local_addr()?;
    let broker = match &started.broker {
        Some(b) => format!(
            "{} (embedded, listening on {}, {}){}",
            b.bootstrap(),
            b.addr(),
            config.data_dir.as_ref().map_or("in memory".to_owned(), |d| format!("data in {}", d.display())),
            if b.reachable_from_other_machines() {
                ""
            } else {
                "\n          this machine only: for clients on other machines start with --public HOST"
            }
        ),
        None => started.kafka.bootstrap.clone(),
    };
    let class = match &config.access.class {
        Some(c) => format!(
            "\n  class   {} students sign in with their tokens (streamlab class tokens --roster FILE)",
            c.roster().len()
        ),
        None => String::new(),
    };
    // On every interface, show the address the class uses, if the lab was told it.
    let shown = crate::lab::reachable_at(web, config.advertise.as_deref());
    let registry = match started.registry_url() {
        Some(url) => format!("\n  schemas {url}/ (Schema Registry)"),
        None => String::new(),
    };
    eprintln!(
        "streamlab {} is ready\n  lab     http://{shown}/\n  broker  {broker}{registry}\n  topics  {}{class}\nPress Ctrl-C to stop.",
        env!("CARGO_PKG_VERSION"),
        streamlab_wire::topics::ALL.join(", ")
    );
    if !tokio::task::spawn_blocking(|| crate::kafka::python::clients_import("python3")).await.unwrap_or(true) {
        eprintln!(
            "The exercises are solved in Python with kafka-python and fastavro, not installed here:\n  {}",
            streamlab_wire::PYTHON_INSTALL
        );
    }
    started.serve(listener, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}
