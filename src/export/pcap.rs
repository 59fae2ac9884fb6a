//! Wireshark captures: one pcap file per link holding every packet the link delivered, in both
//! directions.
//!
//! Format: classic pcap, nanosecond timestamps from the virtual clock (time 0 is the Unix
//! epoch), little-endian, link type LINUX_SLL (113): a 16-byte "cooked" header before each
//! IPv4 packet whose packet type tells the direction — "sent by us" for a→b, "unicast to us"
//! for b→a, as a capture taken at the link's end a shows them. A packet is stamped when it
//! reaches the far end; what the link dropped (queue, loss, down) is not in the capture, as
//! it is not in a capture at the far side (the report counts it).
//!
//! Bounds: packets are cut to the snap length, and each link's file stops once it holds its
//! share of the byte limit (the limit over the files), saying at which instant, so a long run
//! writes a bounded amount and a busy link does not starve the quiet ones.

use crate::lab::model::Lab;
use crate::observe::{Observer, On};
use crate::substrate::engine::Time;
use crate::substrate::ids::Dir;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// The SLL header: packet type, ARPHRD type, address length, address, protocol.
const SLL_HEADER: usize = 16;
/// SLL packet types (Linux's PACKET_HOST and PACKET_OUTGOING).
const TO_US: u16 = 0;
const SENT_BY_US: u16 = 4;
/// ARPHRD_NONE: a link without hardware addresses, as Linux reports a tunnel device.
const ARPHRD_NONE: u16 = 0xfffe;
const ETHERTYPE_IPV4: u16 = 0x0800;
/// Bytes of a pcap record header.
const RECORD_HEADER: u64 = 16;

/// The default total size of a run's captures.
pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;

/// What to capture.
#[derive(Debug, Clone)]
pub struct PcapOptions {
    /// The folder the captures go to (made if missing).
    pub dir: PathBuf,
    /// The links to capture, by name; all when empty.
    pub links: Vec<String>,
    /// Bytes kept of each packet (its IP header first).
    pub snaplen: u32,
    /// The most the files may hold in all.
    pub max_bytes: u64,
}

/// One link's capture.
struct Capture {
    /// Open until the run finishes.
    writer: Option<PcapWriter<BufWriter<File>>>,
    file: PathBuf,
    link: String,
    written: u64,
    packets: u64,
    /// When the file reached its share of the limit.
    cut_at: Option<Time>,
}

/// The captures of one run, as an observer.
pub struct PcapExport {
    /// Per link: its capture, if the link is captured.
    captures: Vec<Option<Capture>>,
    snaplen: u32,
    max_bytes: u64,
    /// Each file's share of `max_bytes`.
    share: u64,
    /// The packet being written: SLL header and the packet's first bytes.
    record: Vec<u8>,
    error: Option<std::io::Error>,
}

/// What one link's capture holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSummary {
    pub link: String,
    pub file: PathBuf,
    pub packets: u64,
    pub bytes: u64,
    /// The instant the file reached its share of the byte limit, if it did: later packets
    /// are not in it.
    pub cut_at: Option<Time>,
}

impl PcapExport {
    /// Creates one file per captured link of `lab` in `options.dir`. Names in
    /// `options.links` must be the lab's links (checked by [`PcapExport::check_links`]).
    pub fn create(lab: &Lab, options: &PcapOptions) -> std::io::Result<PcapExport> {
        std::fs::create_dir_all(&options.dir)?;
        let header = PcapHeader {
            snaplen: options.snaplen,
            datalink: DataLink::LINUX_SLL,
            ts_resolution: TsResolution::NanoSecond,
            endianness: Endianness::Little,
            ..PcapHeader::default()
        };
        let captured: Vec<bool> = lab
            .links
            .iter()
            .map(|l| options.links.is_empty() || options.links.contains(&l.name))
            .collect();
        let count = captured.iter().filter(|&&c| c).count().max(1) as u64;
        let mut captures = Vec::new();
        let mut files: Vec<PathBuf> = Vec::new();
        for (i, l) in lab.links.iter().enumerate() {
            if !captured[i] {
                captures.push(None);
                continue;
            }
            let mut path = options
                .dir
                .join(format!("{}.pcap", super::file_part(&l.name)));
            if files.contains(&path) {
                path = options
                    .dir
                    .join(format!("{}-{i}.pcap", super::file_part(&l.name)));
            }
            let file = BufWriter::new(File::create(&path)?);
            let writer = PcapWriter::with_header(file, header).map_err(std::io::Error::other)?;
            files.push(path.clone());
            captures.push(Some(Capture {
                writer: Some(writer),
                file: path,
                link: l.name.clone(),
                written: 24,
                packets: 0,
                cut_at: None,
            }));
        }
        Ok(PcapExport {
            captures,
            snaplen: options.snaplen,
            max_bytes: options.max_bytes,
            share: options.max_bytes / count,
            record: Vec::with_capacity(SLL_HEADER + options.snaplen as usize),
            error: None,
        })
    }

    /// `Err` naming the first of `names` that is not a link of `lab`, with a suggestion.
    pub fn check_links(lab: &Lab, names: &[String]) -> Result<(), String> {
        let known: Vec<&str> = lab.links.iter().map(|l| l.name.as_str()).collect();
        match names.iter().find(|n| !known.contains(&n.as_str())) {
            None => Ok(()),
            Some(n) => Err(format!(
                "--pcap-links: the lab has no link '{n}'{}",
                crate::lab::suggest(n, &known)
            )),
        }
    }

    /// What each link's capture holds, in the lab's link order.
    pub fn summary(&self) -> Vec<CaptureSummary> {
        let summary = |c: &Capture| CaptureSummary {
            link: c.link.clone(),
            file: c.file.clone(),
            packets: c.packets,
            bytes: c.written,
            cut_at: c.cut_at,
        };
        self.captures.iter().flatten().map(summary).collect()
    }
}

impl Observer for PcapExport {
    fn delivered(&mut self, at: Time, on: On, packet: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let Some(c) = self.captures[on.at.link.index()]
            .as_mut()
            .filter(|c| c.cut_at.is_none())
        else {
            return;
        };
        let Some(writer) = c.writer.as_mut() else {
            return;
        };
        let kept = packet
            .len()
            .min(self.snaplen.saturating_sub(SLL_HEADER as u32) as usize);
        let size = RECORD_HEADER + (SLL_HEADER + kept) as u64;
        if c.written + size > self.share {
            c.cut_at = Some(at);
            return;
        }
        let direction = match on.at.dir {
            Dir::AToB => SENT_BY_US,
            Dir::BToA => TO_US,
        };
        self.record.clear();
        self.record.extend_from_slice(&direction.to_be_bytes());
        self.record.extend_from_slice(&ARPHRD_NONE.to_be_bytes());
        self.record.extend_from_slice(&0u16.to_be_bytes());
        self.record.extend_from_slice(&[0; 8]);
        self.record.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        self.record.extend_from_slice(&packet[..kept]);
        let record = PcapPacket::new(
            std::time::Duration::from_nanos(at),
            (SLL_HEADER + packet.len()) as u32,
            &self.record,
        );
        match writer.write_packet(&record) {
            Ok(_) => {
                c.written += size;
                c.packets += 1;
            }
            Err(e) => self.error = Some(std::io::Error::other(e)),
        }
    }

    fn outcome(&self) -> Option<String> {
        Some(self.describe())
    }

    fn finish(&mut self, _at: Time) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        // The files are complete once their buffers reach the disk.
        for c in self.captures.iter_mut().flatten() {
            if let Some(w) = c.writer.take() {
                use std::io::Write;
                w.into_writer().flush()?;
            }
        }
        Ok(())
    }
}

impl PcapExport {
    fn describe(&self) -> String {
        let captures = self.summary();
        let (packets, bytes) = captures
            .iter()
            .fold((0, 0), |(p, b), c| (p + c.packets, b + c.bytes));
        let mut line = format!(
            "pcap: {packets} packets in {} file{}, {}",
            captures.len(),
            if captures.len() == 1 { "" } else { "s" },
            crate::units::format_bytes(bytes)
        );
        if let Some(dir) = captures.first().and_then(|c| c.file.parent()) {
            line.push_str(&format!(", in {}", dir.display()));
        }
        let cut: Vec<String> = captures
            .iter()
            .filter_map(|c| {
                let at = c.cut_at?;
                Some(format!("{} at {}", c.link, crate::units::format_nanos(at)))
            })
            .collect();
        if !cut.is_empty() {
            line.push_str(&format!(
                "; stopped when a file held its share ({}) of --pcap-max {}: {}",
                crate::units::format_bytes(self.share),
                crate::units::format_bytes(self.max_bytes),
                cut.join(", ")
            ));
        }
        line
    }
}

impl Drop for PcapExport {
    fn drop(&mut self) {
        let _ = self.finish(0);
    }
}

/// The path of `link`'s capture in `dir`, as [`PcapExport::create`] names it (without a
/// collision).
pub fn capture_path(dir: &Path, link: &str) -> PathBuf {
    dir.join(format!("{}.pcap", super::file_part(link)))
}
