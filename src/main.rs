//! `emulate`: the command-line front end. It parses arguments, loads the lab, runs it, and
//! prints or writes the results; every model lives in the library.
//!
//! Exit codes: 0 the lab ran and met its expectations (or checked clean); 1 a run or a sweep
//! combination missed an expectation; 2 bad input or usage.

use clap::{Parser, Subcommand};
use hybridlab::drivers::session;
use hybridlab::export::pcap::PcapOptions;
use hybridlab::input;
use hybridlab::lab::budget::Budget;
use hybridlab::lab::overrides::Override;
use hybridlab::lab::{self, LabError};
use hybridlab::units::Duration;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Exit code for bad input or usage (clap uses the same for usage errors).
const EXIT_BAD_INPUT: u8 = 2;
/// Exit code for a run (or a sweep) that missed one of the lab's expectations.
const EXIT_MISSED: u8 = 1;

#[derive(Parser)]
#[command(
    name = "emulate",
    version,
    about = "Run a hybridlab network lab and report what it measured",
    after_help = "Examples:\n  emulate topologies/er-vpn-failover.ron\n  emulate topologies/s2s-vpn.ron --set nodes.azure-vm.tcp_rx_buffer=8MiB --json out.json\n  emulate check topologies/expressroute.ron\n  emulate sweep topologies/er-vpn-failover.ron --seeds 1..=20 --set circuits.er.bfd.interval=150ms,300ms"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run a lab and print the report (the same as `emulate LAB.ron`).
    #[command(after_help = "Example: emulate run topologies/er-vpn-failover.ron --json out.json")]
    Run(RunArgs),
    /// Validate a lab file without running it.
    #[command(
        after_help = "Example: emulate check topologies/s2s-vpn.ron --set links.isp-azure.delay=30ms"
    )]
    Check {
        /// One or more lab files.
        #[arg(required = true, value_name = "LAB")]
        labs: Vec<PathBuf>,
        /// Change the lab file's data before validation, e.g. --set links.wan.delay=20ms.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<Override>,
        /// What a run may cost before it is refused: memory=SIZE, events=N (repeatable).
        /// Default: half of this machine's memory and 2.5e10 events (about an hour).
        #[arg(long = "budget", value_name = "memory=SIZE|events=N")]
        budget: Vec<String>,
        /// Print the low-level lab each file becomes: the routers, links, tunnels, routes and
        /// BGP sessions its circuits, VNets, gateways, connections and peerings expand into.
        #[arg(long)]
        expanded: bool,
    },
    /// Run a lab over seeds and parameter values, every combination, in parallel.
    ///
    /// Example: emulate sweep topologies/er-vpn-failover.ron --seeds 1..=50
    ///   --set circuits.er.bfd.interval=150ms,300ms --csv bfd.csv
    Sweep(SweepArgs),
    /// Join the parts of a sweep run in shards into what one machine would have produced.
    #[command(
        after_help = "Example: emulate merge part1.json part2.json part3.json --csv sweep.csv"
    )]
    Merge(MergeArgs),
    /// Draw a lab's topology: on premises left, the internet and provider edge in the middle,
    /// the cloud right.
    #[command(
        after_help = "Example: emulate draw topologies/er-vpn-failover.ron --svg topology.svg"
    )]
    Draw {
        /// The lab file (RON).
        lab: PathBuf,
        /// Where to write the drawing.
        #[arg(long, value_name = "FILE", required = true)]
        svg: PathBuf,
        /// Change the lab file's data before drawing, as for a run.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<Override>,
    },
    /// Print the lab an ARM template (Bicep's output) or resource JSON describes: the cloud
    /// side as read, every assumption marked, ready to check and run (README, "Your own design").
    #[command(
        after_help = "Example: emulate import infra/network.json --parameters infra/prod.parameters.json --param vpnSku=VpnGw2AZ > prod.ron"
    )]
    Import {
        /// The infrastructure file (JSON).
        file: PathBuf,
        /// An ARM deployment-parameters file.
        #[arg(long, value_name = "FILE")]
        parameters: Option<PathBuf>,
        /// A template parameter's value (repeatable; a later one wins), read as its type.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
    },
    /// Run two or more labs in parallel and put their apps' figures side by side.
    #[command(
        after_help = "Example: emulate compare topologies/s2s-vpn.ron topologies/expressroute.ron --json cmp.json --svg cmp.svg"
    )]
    Compare {
        /// The labs, the first being the one the others are compared with.
        #[arg(required = true, num_args = 2.., value_name = "LAB")]
        labs: Vec<PathBuf>,
        /// Write the comparison as JSON.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Draw each app's latency CDF, one curve per lab, as SVG.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// What a run may cost before it is refused: memory=SIZE, events=N (repeatable).
        /// Default: half of this machine's memory and 2.5e10 events (about an hour).
        #[arg(long = "budget", value_name = "memory=SIZE|events=N")]
        budget: Vec<String>,
    },
    /// Run every single failure of a lab, one run each, and rank what each does to each app:
    /// outages, and the single points of failure.
    #[command(
        after_help = "Example: emulate resilience topologies/er-vpn-failover.ron --hold 20s --json res.json\n  emulate resilience topologies/hub-spoke.ron --list"
    )]
    Resilience(ResilienceArgs),
    /// Show the routing tables at instants of a run: each VM's effective routes, each
    /// gateway's learned and advertised routes, each circuit's route table per path, each
    /// router's BGP and forwarding tables.
    #[command(
        after_help = "Example: emulate routes topologies/er-vpn-failover.ron --at 21s --node vm1\n  Without --at: once converged, and once after each fault has settled."
    )]
    Routes(RoutesArgs),
    /// Show the hop-by-hop path of a packet at an instant of a run, and of its answer.
    #[command(
        after_help = "Example: emulate path topologies/hub-spoke.ron --from spoke1-vm --to 10.2.1.10 --proto icmp"
    )]
    Path(PathArgs),
}

#[derive(clap::Args)]
struct RoutesArgs {
    /// The lab file (RON).
    lab: PathBuf,
    /// An instant to show (repeatable); default: once converged and after each fault settled.
    #[arg(long, value_parser = parse_duration)]
    at: Vec<Duration>,
    /// Show only these nodes (repeatable): a VM, a gateway, an MSEE, a router, a VNet.
    #[arg(long, value_name = "NAME")]
    node: Vec<String>,
    /// Change the lab file's data before validation, as for a run.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<Override>,
    /// Write every table as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args)]
struct PathArgs {
    /// The lab file (RON).
    lab: PathBuf,
    /// The node that sends.
    #[arg(long)]
    from: String,
    /// The destination address.
    #[arg(long)]
    to: std::net::Ipv4Addr,
    /// When; default: once the control plane has converged.
    #[arg(long, value_parser = parse_duration)]
    at: Option<Duration>,
    /// udp, tcp or icmp.
    #[arg(long, default_value = "udp", value_parser = ["udp", "tcp", "icmp"])]
    proto: String,
    /// Destination port (TCP, UDP); default: the app's with this flow.
    #[arg(long)]
    port: Option<u16>,
    /// Source port; default: the app's, else 49152.
    #[arg(long)]
    sport: Option<u16>,
    /// Bytes of payload; default: the app's, else 64.
    #[arg(long)]
    size: Option<usize>,
    /// Change the lab file's data before validation, as for a run.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<Override>,
    /// Write both paths as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ResilienceArgs {
    /// The lab file (RON); a second one puts both designs side by side.
    #[arg(required = true, num_args = 1..=2, value_name = "LAB")]
    labs: Vec<PathBuf>,
    /// Print the candidates without running them.
    #[arg(long)]
    list: bool,
    /// Run only these kinds: link, circuit-link, internet-path, degraded-path, platform-link,
    /// peering, circuit, peering-location, router, gateway, gateway-maintenance, msee,
    /// bgp-session.
    #[arg(long, value_name = "KIND,...", value_delimiter = ',')]
    only: Vec<String>,
    /// Do not run these candidates (by name).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    skip: Vec<String>,
    /// When each failure happens; default: 2 s after the baseline's last route change.
    #[arg(long, value_parser = parse_duration)]
    at: Option<Duration>,
    /// How long each failure lasts before its repair.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    hold: Duration,
    /// Keep the lab's own faults in every run.
    #[arg(long)]
    keep_faults: bool,
    /// How a site's internet path degrades: the loss it has instead, the delay added each way.
    #[arg(
        long,
        value_name = "loss=P%,delay=+T",
        default_value = "loss=1%,delay=+50ms"
    )]
    degrade: hybridlab::drivers::resilience::Degrade,
    /// 1: every single failure; 2: every pair of candidates failing at once besides.
    #[arg(long, default_value_t = 1)]
    depth: u8,
    /// Refuse an analysis of more runs than this (depth 2 grows as the square).
    #[arg(long, default_value_t = hybridlab::drivers::resilience::MAX_RUNS)]
    max_runs: usize,
    /// Change the lab file's data before validation, as for a run.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<Override>,
    /// Worker threads; 0 (the default) uses every core. The output does not depend on it.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Write the analysis as JSON (two labs: a list of both).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write one row per candidate and app as CSV.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Write one HTML page: the downtime, a matrix of candidates and apps coloured by outage,
    /// and each candidate's failover timeline.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Run only part K of N (every N-th candidate from the K-th; the baseline in each) and
    /// write it with --json, for `emulate merge` to join with the other parts.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Write the lab's resilience expectations as JUnit XML, one test case each.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// What one run may cost before the analysis is refused: memory=SIZE, events=N.
    #[arg(long = "budget", value_name = "memory=SIZE|events=N")]
    budget: Vec<String>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args)]
struct SweepArgs {
    /// The lab file (RON).
    lab: PathBuf,
    /// Seeds to run: 1..=100, 1..101, 7 or 1,5,9.
    #[arg(long, default_value = "1..=10")]
    seeds: String,
    /// A parameter and its values, PATH=V1,V2,... (repeatable; every combination runs).
    #[arg(long = "set", value_name = "PATH=V1,V2,...")]
    axes: Vec<hybridlab::drivers::sweep::Axis>,
    /// Worker threads; 0 (the default) uses every core. The output does not depend on it.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Write every combination's merged results as JSON (mergeable parts).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write one row per combination and figure as CSV.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Run only part K of N (every N-th seed from the K-th), for another machine to merge.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Run only the first part of each run, e.g. 25s (as for a single run).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// What one run may cost before the sweep is refused: memory=SIZE, events=N.
    #[arg(long = "budget", value_name = "memory=SIZE|events=N")]
    budget: Vec<String>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args)]
struct MergeArgs {
    /// The parts' JSON files (`emulate sweep --shard K/N --json PART`, or `emulate resilience
    /// --shard K/N --json PART`).
    #[arg(required = true, value_name = "PART")]
    parts: Vec<PathBuf>,
    /// Write the merged sweep as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the merged sweep as CSV.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Resilience parts: write the lab's resilience expectations as JUnit XML.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The lab file (RON).
    lab: Option<PathBuf>,
    /// Change the lab file's data before validation (repeatable), e.g.
    /// --set links.isp-onprem.loss='Bernoulli(0.01)' --set circuits.er.bfd.interval=150ms.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<Override>,
    /// Override the lab's seed: the same as --set seed=N.
    #[arg(long)]
    seed: Option<u64>,
    /// Run for this long, e.g. 30s: shorter than the lab's duration, apps stop and later
    /// faults never happen; longer, apps without a stop run to the new end.
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// What the run may cost before it is refused: memory=SIZE, events=N (repeatable).
    /// Default: half of this machine's memory and 2.5e10 events (about an hour).
    #[arg(long = "budget", value_name = "memory=SIZE|events=N")]
    budget: Vec<String>,
    /// Write time series (links, probes, goodput, events) as CSV into this folder.
    #[arg(long, value_name = "DIR")]
    csv: Option<PathBuf>,
    /// The series' interval, a multiple of 100ms (with --csv).
    #[arg(long, value_parser = parse_duration, default_value = "100ms")]
    interval: Duration,
    /// Draw the run's plots as SVG into this folder: latency CDFs by phase, goodput with the
    /// failover marked, queues, and each fault's timeline.
    #[arg(long, value_name = "DIR")]
    svg: Option<PathBuf>,
    /// Write a one-page, self-contained HTML report: teaching notes, topology, failover,
    /// plots and tables.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write a Wireshark capture of every link (both directions) into this folder.
    #[arg(long, value_name = "DIR")]
    pcap: Option<PathBuf>,
    /// Capture only these links (with --pcap).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pcap_links: Vec<String>,
    /// Bytes kept of each captured packet, its 16-byte link header included (with --pcap).
    #[arg(long, default_value_t = 65535, value_parser = clap::value_parser!(u32).range(36..=262144))]
    snaplen: u32,
    /// The most the captures may hold in all; past it they stop and say when (with --pcap).
    #[arg(long, value_name = "SIZE", default_value = "256MiB")]
    pcap_max: hybridlab::units::Bytes,
    /// Write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Include wall-clock timing in the JSON (makes it differ between runs).
    #[arg(long)]
    json_timing: bool,
    /// Print nothing but errors (and missed expectations).
    #[arg(long, short)]
    quiet: bool,
    /// Write the lab's expectations as JUnit XML, one test case each.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Run(args)) => match &args.lab {
            Some(path) => run(path, &args),
            None => Err("no lab file given: emulate run LAB.ron".to_string()),
        },
        Some(Command::Check {
            labs,
            sets,
            expanded: true,
            ..
        }) => print_expanded(&labs, &sets),
        Some(Command::Check {
            labs, sets, budget, ..
        }) => check(&labs, &sets, &budget),
        Some(Command::Draw { lab, svg, sets }) => draw(&lab, &svg, &sets),
        Some(Command::Import {
            file,
            parameters,
            params,
        }) => import(&file, parameters.as_deref(), &params),
        Some(Command::Sweep(args)) => sweep(&args),
        Some(Command::Merge(args)) => merge(&args),
        Some(Command::Compare {
            labs,
            json,
            svg,
            budget,
        }) => compare(&labs, json.as_deref(), svg.as_deref(), &budget),
        Some(Command::Resilience(args)) => resilience(&args),
        Some(Command::Routes(args)) => routes(&args),
        Some(Command::Path(args)) => path(&args),
        None => match &cli.run.lab {
            Some(path) => run(path, &cli.run),
            None => Err("no lab file given: emulate LAB.ron (see emulate --help)".to_string()),
        },
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_MISSED),
        Err(message) => {
            let _ = err(&format!("error: {message}\n"));
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

/// Set once standard output turns out to be a closed pipe (`emulate lab.ron | head`): the
/// rest of the output is dropped quietly and the exit code stays what the run earned.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes `text` to standard output (`stderr` false) or standard error. A closed pipe ends
/// the output quietly; any other failure (a full device) is an error.
fn emit(text: &str, stderr: bool) -> Result<(), String> {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    if !stderr && STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    // Whatever a lab or an argument put in a message reaches the terminal as text: control
    // characters other than line breaks and tabs are escaped, so nothing can clear or spoof it.
    let text = if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        std::borrow::Cow::Owned(
            text.chars()
                .map(|c| match c {
                    '\n' | '\t' => c.to_string(),
                    c if c.is_control() => c.escape_unicode().to_string(),
                    c => c.to_string(),
                })
                .collect(),
        )
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    let written = if stderr {
        let mut e = std::io::stderr().lock();
        e.write_all(text.as_bytes()).and_then(|()| e.flush())
    } else {
        let mut o = std::io::stdout().lock();
        o.write_all(text.as_bytes()).and_then(|()| o.flush())
    };
    match written {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            if !stderr {
                STDOUT_CLOSED.store(true, Ordering::Relaxed);
            }
            Ok(())
        }
        Err(e) => Err(format!(
            "cannot write to standard {}: {e}",
            if stderr { "error" } else { "output" }
        )),
    }
}

fn out(text: &str) -> Result<(), String> {
    emit(text, false)
}

fn err(text: &str) -> Result<(), String> {
    emit(text, true)
}

/// Checks every output path given, before anything runs.
fn writable_all(paths: &[Option<&Path>]) -> Result<(), String> {
    paths
        .iter()
        .flatten()
        .try_for_each(|p| session::writable(p).map_err(|e| e.to_string()))
}

/// The machine's default budget with the `--budget` settings applied.
fn budget(settings: &[String]) -> Result<Budget, String> {
    let mut b = Budget::for_this_machine();
    for s in settings {
        b.set(s)?;
    }
    Ok(b)
}

fn load(path: &Path, sets: &[Override]) -> Result<lab::Lab, String> {
    input::load_with(path, sets).map_err(|e: LabError| e.to_string())
}

/// Prints the low-level lab of every file.
fn print_expanded(paths: &[PathBuf], sets: &[Override]) -> Result<bool, String> {
    for path in paths {
        out(&input::expanded(path, sets).map_err(|e| e.to_string())?)?;
    }
    Ok(true)
}

/// Prints the lab an infrastructure file becomes.
fn import(file: &Path, parameters: Option<&Path>, params: &[String]) -> Result<bool, String> {
    let params = params
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| format!("--param {p}: expected NAME=VALUE"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let text =
        hybridlab::import::import_file(file, parameters, &params).map_err(|e| e.to_string())?;
    out(&text)?;
    Ok(true)
}

/// Validates every file (reporting each that fails), then says whether all were valid.
fn check(paths: &[PathBuf], sets: &[Override], settings: &[String]) -> Result<bool, String> {
    let budget = budget(settings)?;
    let mut failed = Vec::new();
    for path in paths {
        let admitted = input::prepare(path, sets, None, Some(&budget))
            .map(|lab| {
                let estimate = hybridlab::lab::budget::estimate(&lab);
                (lab, estimate)
            })
            .map_err(|e| e.to_string());
        match admitted {
            Ok((lab, estimate)) => {
                for w in &lab.warnings {
                    out(&format!("warning: {w}\n"))?;
                }
                for a in &lab.assumptions {
                    out(&format!("assumed: {}\n", hybridlab::lab::escape(a)))?;
                }
                out(&format!(
                    "{}: lab '{}' is valid: {} nodes, {} links, {} apps, {} faults, {} expectations\n",
                    path.display(),
                    lab.name,
                    lab.nodes.len(),
                    lab.links.len(),
                    lab.apps.len(),
                    lab.faults.len(),
                    lab.expectations.len()
                ))?;
                out(&format!(
                    "  estimated cost: about {} of memory and {:.1e} events\n",
                    hybridlab::units::format_bytes(estimate.memory()),
                    estimate.events()
                ))?;
            }
            Err(e) => {
                err(&format!("error: {e}\n"))?;
                failed.push(path.display().to_string());
            }
        }
    }
    match failed.len() {
        0 => Ok(true),
        n => Err(format!("{n} of {} lab files are not valid", paths.len())),
    }
}

fn run(path: &Path, args: &RunArgs) -> Result<bool, String> {
    let mut sets = args.sets.clone();
    if let Some(seed) = args.seed {
        sets.push(format!("seed={seed}").parse()?);
    }
    if args.duration.is_some_and(|d| d.0 == 0) {
        return Err("--duration must be above zero".to_string());
    }
    let budget = budget(&args.budget)?;
    let lab = input::prepare(path, &sets, args.duration.map(|d| d.0), Some(&budget))
        .map_err(|e| e.to_string())?;
    if !args.quiet {
        for w in &lab.warnings {
            err(&format!("warning: {w}\n"))?;
        }
    }
    if !args.pcap_links.is_empty() && args.pcap.is_none() {
        return Err("--pcap-links needs --pcap DIR".to_string());
    }
    let outputs = session::Outputs {
        pcap: args.pcap.as_ref().map(|dir| PcapOptions {
            dir: dir.clone(),
            links: args.pcap_links.clone(),
            snaplen: args.snaplen,
            max_bytes: args.pcap_max.0,
        }),
        csv: args.csv.as_ref().map(|dir| (dir.clone(), args.interval.0)),
        svg: args.svg.clone(),
        html: args.html.clone(),
        json: args.json.clone(),
        json_timing: args.json_timing,
        junit: args.junit.clone(),
    };
    let started = Instant::now();
    let progress = Progress::new(lab.duration, args.quiet);
    let finished = session::run(&lab, path, &outputs, &mut |now| {
        progress.update(&started, now)
    });
    progress.finish();
    let finished = finished.map_err(|e| e.to_string())?;
    let held = finished.met_expectations();
    if !args.quiet {
        out(&hybridlab::export::report::render(&finished.summary))?;
        for line in &finished.exported {
            out(&format!("{line}\n"))?;
        }
        out(&hybridlab::analysis::expect::render(&finished.outcomes))?;
    } else if !held {
        err(&hybridlab::analysis::expect::render(&finished.outcomes))?;
    }
    Ok(held)
}

fn draw(path: &Path, svg: &Path, sets: &[Override]) -> Result<bool, String> {
    let lab = load(path, sets)?;
    writable_all(&[Some(svg)])?;
    let text = hybridlab::export::draw::topology_svg(&lab).map_err(|e| e.to_string())?;
    std::fs::write(svg, text).map_err(|e| format!("{}: cannot write: {e}", svg.display()))?;
    Ok(true)
}

fn compare(
    labs: &[PathBuf],
    json: Option<&Path>,
    svg: Option<&Path>,
    settings: &[String],
) -> Result<bool, String> {
    writable_all(&[json, svg])?;
    let budget = budget(settings)?;
    let (c, results) =
        hybridlab::drivers::compare::run(labs, Some(&budget)).map_err(|e| e.to_string())?;
    if let Some(json) = json {
        let text = serde_json::to_string_pretty(&c).map_err(|e| e.to_string())?;
        std::fs::write(json, text + "\n")
            .map_err(|e| format!("{}: cannot write: {e}", json.display()))?;
    }
    if let Some(svg) = svg {
        let text =
            hybridlab::drivers::compare::latency_svg(&c, &results).map_err(|e| e.to_string())?;
        std::fs::write(svg, text).map_err(|e| format!("{}: cannot write: {e}", svg.display()))?;
    }
    out(&hybridlab::drivers::compare::render(&c))?;
    Ok(true)
}

fn resilience(args: &ResilienceArgs) -> Result<bool, String> {
    use hybridlab::drivers::resilience::{self, Kind, Plan};
    if args.hold.0 == 0 {
        return Err("--hold must be above zero".to_string());
    }
    let plan = Plan {
        only: args
            .only
            .iter()
            .map(|k| Kind::parse(k))
            .collect::<Result<_, _>>()?,
        skip: args.skip.clone(),
        at: args.at.map(|d| d.0),
        hold: args.hold.0,
        keep_faults: args.keep_faults,
        depth: args.depth,
        max_runs: args.max_runs,
        degrade: args.degrade,
    };
    if !(1..=2).contains(&args.depth) {
        return Err(format!(
            "--depth {}: 1 runs every single failure, 2 every pair besides",
            args.depth
        ));
    }
    let budget = budget(&args.budget)?;
    if args.list {
        for lab in &args.labs {
            let lab =
                input::prepare(lab, &args.sets, None, Some(&budget)).map_err(|e| e.to_string())?;
            let selected = plan.select(&lab)?;
            let lines: Vec<String> = selected
                .iter()
                .map(|c| resilience::describe(&lab, c))
                .collect();
            out(&format!(
                "{} candidates{}\n{}\n",
                selected.len(),
                if args.labs.len() > 1 {
                    format!(" of '{}'", lab.name)
                } else {
                    String::new()
                },
                lines.join("\n")
            ))?;
        }
        return Ok(true);
    }
    writable_all(&[
        args.json.as_deref(),
        args.csv.as_deref(),
        args.html.as_deref(),
        args.junit.as_deref(),
    ])?;
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{pos} failures run  {elapsed}")
                .map_err(|e| e.to_string())?,
        );
        bar
    };
    // Say how many runs it takes before taking them (or refuse, over --max-runs).
    for lab in &args.labs {
        let lab =
            input::prepare(lab, &args.sets, None, Some(&budget)).map_err(|e| e.to_string())?;
        let what = plan.runs(&lab.name, plan.select(&lab)?.len())?;
        if !args.quiet {
            emit(&format!("resilience of '{}': {what}\n", lab.name), true)?;
        }
    }
    if let Some(shard) = &args.shard {
        let shard = hybridlab::drivers::sweep::parse_shard(shard)?;
        let (Some(json), [lab]) = (&args.json, args.labs.as_slice()) else {
            return Err(
                "--shard runs part of one lab's analysis and writes it with --json PART"
                    .to_string(),
            );
        };
        if args.csv.is_some() || args.junit.is_some() || args.html.is_some() {
            return Err("--shard writes only the part (--json); --csv, --html and --junit come from `emulate merge` or a whole analysis".to_string());
        }
        let part = resilience::run_part(
            lab,
            &args.sets,
            &plan,
            Some(&budget),
            args.threads,
            Some(shard),
            &|n| bar.set_position(n as u64),
        )
        .map_err(|e| e.to_string())?;
        bar.finish_and_clear();
        let text = serde_json::to_string(&part).map_err(|e| e.to_string())?;
        std::fs::write(json, text + "\n")
            .map_err(|e| format!("{}: cannot write: {e}", json.display()))?;
        return Ok(true);
    }
    let mut analyses = Vec::new();
    for lab in &args.labs {
        let analysis =
            resilience::analyse(lab, &args.sets, &plan, Some(&budget), args.threads, &|n| {
                bar.set_position(n as u64)
            })
            .map_err(|e| e.to_string())?;
        analyses.push(analysis);
    }
    bar.finish_and_clear();
    if let Some(html) = &args.html {
        let page =
            hybridlab::export::html::resilience_page(&analyses).map_err(|e| e.to_string())?;
        std::fs::write(html, page).map_err(|e| format!("{}: cannot write: {e}", html.display()))?;
    }
    write_resilience(
        &analyses,
        args.json.as_deref(),
        args.csv.as_deref(),
        args.junit.as_deref(),
        args.quiet,
    )
}

/// Writes resilience analyses where asked and prints them: whether every expectation held.
fn routes(args: &RoutesArgs) -> Result<bool, String> {
    use hybridlab::routing;
    writable_all(&[args.json.as_deref()])?;
    let lab = load(&args.lab, &args.sets)?;
    let nodes = routing::select_nodes(&lab, &args.node)?;
    let snapshots = if args.at.is_empty() {
        routing::settled_routes(&lab, &nodes)
    } else {
        let moments: Vec<_> = args
            .at
            .iter()
            .map(|d| routing::Moment {
                at: d.0,
                label: "asked".to_string(),
            })
            .collect();
        routing::routes(&lab, &moments, &nodes)?
    };
    if let Some(json) = &args.json {
        let text = serde_json::to_string_pretty(&snapshots).map_err(|e| e.to_string())?;
        std::fs::write(json, text + "\n")
            .map_err(|e| format!("{}: cannot write: {e}", json.display()))?;
    }
    if !args.quiet {
        out(&routing::text::render(&snapshots))?;
    }
    Ok(true)
}

fn path(args: &PathArgs) -> Result<bool, String> {
    use hybridlab::routing::path;
    use hybridlab::sim::path::Proto;
    writable_all(&[args.json.as_deref()])?;
    let lab = load(&args.lab, &args.sets)?;
    let req = path::Request {
        from: args.from.clone(),
        to: args.to,
        at: args.at.map(|d| d.0),
        proto: match args.proto.as_str() {
            "tcp" => Proto::Tcp,
            "icmp" => Proto::Icmp,
            _ => Proto::Udp,
        },
        port: args.port,
        sport: args.sport,
        size: args.size,
    };
    let report = path::path(&lab, &req)?;
    if let Some(json) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(json, text + "\n")
            .map_err(|e| format!("{}: cannot write: {e}", json.display()))?;
    }
    out(&path::render(&report))?;
    Ok(true)
}

fn write_resilience(
    analyses: &[hybridlab::drivers::resilience::Analysis],
    json: Option<&Path>,
    csv: Option<&Path>,
    junit: Option<&Path>,
    quiet: bool,
) -> Result<bool, String> {
    use hybridlab::drivers::resilience;
    let write = |path: &Path, text: String| {
        std::fs::write(path, text).map_err(|e| format!("{}: cannot write: {e}", path.display()))
    };
    if let Some(json) = json {
        let text = match analyses {
            [one] => serde_json::to_string_pretty(one),
            all => serde_json::to_string_pretty(all),
        }
        .map_err(|e| e.to_string())?;
        write(json, text + "\n")?;
    }
    if let Some(csv) = csv {
        write(csv, hybridlab::export::report::resilience_csv(analyses))?;
    }
    if let Some(junit) = junit {
        let expectations: Vec<_> = analyses
            .iter()
            .flat_map(|a| a.expectations.iter().cloned())
            .collect();
        let name: Vec<&str> = analyses.iter().map(|a| a.lab.as_str()).collect();
        write(
            junit,
            hybridlab::analysis::expect::junit(&name.join(" vs "), &expectations),
        )?;
    }
    let met = analyses.iter().all(|a| a.met_expectations());
    if !quiet {
        match analyses {
            [one] => out(&resilience::render(one, 10))?,
            [a, b] => out(&resilience::render_comparison(a, b, 5))?,
            _ => {}
        }
    } else if !met {
        for a in analyses {
            emit(&hybridlab::analysis::expect::render(&a.expectations), true)?;
        }
    }
    Ok(met)
}

fn sweep(args: &SweepArgs) -> Result<bool, String> {
    let plan = hybridlab::drivers::sweep::Plan {
        seeds: hybridlab::drivers::sweep::parse_seeds(&args.seeds)?,
        axes: args.axes.clone(),
        shard: args
            .shard
            .as_deref()
            .map(hybridlab::drivers::sweep::parse_shard)
            .transpose()?,
        duration: match args.duration {
            Some(d) if d.0 == 0 => return Err("--duration must be above zero".to_string()),
            d => d.map(|d| d.0),
        },
        budget: Some(budget(&args.budget)?),
    };
    writable_all(&[args.json.as_deref(), args.csv.as_deref()])?;
    let combos = plan.combinations()?.len();
    let total = combos * plan.seeds_here().len();
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {elapsed} (eta {eta})")
                .map_err(|e| e.to_string())?,
        );
        bar
    };
    let results = hybridlab::drivers::sweep::run(&args.lab, &plan, args.threads, &|n| {
        bar.set_position(n as u64)
    })
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    write_sweep(
        &results,
        args.json.as_deref(),
        args.csv.as_deref(),
        args.quiet,
    )
}

/// Writes a sweep's (or merged parts') JSON and CSV and prints it; whether it met the lab's
/// expectations.
fn write_sweep(
    results: &[hybridlab::drivers::sweep::Combination],
    json: Option<&Path>,
    csv: Option<&Path>,
    quiet: bool,
) -> Result<bool, String> {
    if let Some(json) = json {
        let text = serde_json::to_string_pretty(results).map_err(|e| e.to_string())?;
        std::fs::write(json, text + "\n")
            .map_err(|e| format!("{}: cannot write: {e}", json.display()))?;
    }
    if let Some(csv) = csv {
        std::fs::write(csv, hybridlab::export::report::sweep_csv(results))
            .map_err(|e| format!("{}: cannot write: {e}", csv.display()))?;
    }
    if !quiet {
        out(&hybridlab::export::report::render_sweep(results))?;
    }
    Ok(results.iter().all(|c| c.passed()))
}

/// Joins the JSON parts of a sharded sweep.
fn merge(args: &MergeArgs) -> Result<bool, String> {
    let texts = args
        .parts
        .iter()
        .map(|p| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display())))
        .collect::<Result<Vec<_>, String>>()?;
    // A resilience analysis's part says so; anything else is a sweep's.
    let resilience_part = |t: &str| {
        serde_json::from_str::<serde_json::Value>(t)
            .is_ok_and(|v| v.get("resilience_part").is_some())
    };
    if texts.iter().any(|t| resilience_part(t)) {
        let parts = texts
            .iter()
            .zip(&args.parts)
            .map(|(t, p)| {
                serde_json::from_str(t)
                    .map_err(|e| format!("{}: not a resilience part: {e}", p.display()))
            })
            .collect::<Result<Vec<_>, String>>()?;
        writable_all(&[
            args.json.as_deref(),
            args.csv.as_deref(),
            args.junit.as_deref(),
        ])?;
        let analysis = hybridlab::drivers::resilience::assemble(parts)?;
        return write_resilience(
            &[analysis],
            args.json.as_deref(),
            args.csv.as_deref(),
            args.junit.as_deref(),
            args.quiet,
        );
    }
    if args.junit.is_some() {
        return Err("--junit is for the parts of a resilience analysis; a sweep's expectations are in its JSON".to_string());
    }
    let parts = args
        .parts
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            serde_json::from_str(&text)
                .map_err(|e| format!("{}: not a sweep part: {e}", p.display()))
        })
        .collect::<Result<Vec<_>, String>>()?;
    writable_all(&[args.json.as_deref(), args.csv.as_deref()])?;
    let merged = hybridlab::drivers::sweep::merge_parts(parts)?;
    write_sweep(
        &merged,
        args.json.as_deref(),
        args.csv.as_deref(),
        args.quiet,
    )
}

/// A progress bar on stderr, shown only once a run has taken a second of wall time and only on
/// a terminal.
struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new(duration: u64, quiet: bool) -> Self {
        if quiet {
            return Progress { bar: None };
        }
        let bar =
            ProgressBar::with_draw_target(Some(duration / 1_000_000), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} ms of virtual time ({eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress { bar: Some(bar) }
    }

    fn update(&self, started: &Instant, now: u64) {
        if let Some(bar) = &self.bar {
            if bar.is_hidden() && started.elapsed().as_secs_f64() > 1.0 {
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
            bar.set_position(now / 1_000_000);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
