//! The topology as a picture: on-premises on the left, the internet and the provider edge in
//! the middle, the cloud on the right.
//!
//! Layout: the lab's own anchors say which side is which, by the roles the lab gives its nodes
//! ([`Role`]) — each circuit's customer edge and each tunnel's end a are on premises, each
//! gateway linked to an MSEE and each tunnel's end b in the cloud.
//! A node's column is its hop distance from the on-premises anchors minus its distance from
//! the cloud ones, ranked: the MSEEs and the internet, equally far from both, land in the
//! middle; nodes behind an anchor (the hosts, the VNet) go one column further out per hop. A
//! lab without circuits or tunnels is laid out from its first node. Within a column,
//! nodes keep their order in the file. Links are lines labelled with their delay and rate;
//! tunnels are dashed lines between their ends.

use crate::export::plot::PlotError;
use crate::lab::model::{Lab, Role};
use crate::units::{format_bitrate, format_nanos};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::VecDeque;

const COLUMN: i32 = 230;
const ROW: i32 = 90;
const BOX: (i32, i32) = (120, 34);
const MARGIN: i32 = 60;

/// Hop distances from `sources` to every node (`usize::MAX` where unreachable).
fn distances(lab: &Lab, sources: &[usize]) -> Vec<usize> {
    let mut d = vec![usize::MAX; lab.nodes.len()];
    let mut queue: VecDeque<usize> = sources.iter().copied().collect();
    for &s in sources {
        d[s] = 0;
    }
    while let Some(n) = queue.pop_front() {
        for f in &lab.nodes[n].ifaces {
            let m = lab.links[f.link].receiver(f.side).0.index();
            if d[m] == usize::MAX {
                d[m] = d[n] + 1;
                queue.push_back(m);
            }
        }
    }
    d
}

/// Each node's (column, row).
pub fn layout(lab: &Lab) -> Vec<(usize, usize)> {
    let n = lab.nodes.len();
    let mut left: Vec<usize> = lab.tunnels.iter().map(|t| t.ends[0].0.index()).collect();
    let mut right: Vec<usize> = lab.tunnels.iter().map(|t| t.ends[1].0.index()).collect();
    // A circuit's customer edge is on premises; a gateway that links to an MSEE in the cloud.
    for (i, node) in lab.nodes.iter().enumerate() {
        match node.role {
            Role::CustomerEdge => left.push(i),
            Role::Gateway
                if node.ifaces.iter().any(|f| {
                    lab.nodes[lab.links[f.link].receiver(f.side).0].role == Role::Msee
                }) =>
            {
                right.push(i)
            }
            _ => {}
        }
    }
    let score: Vec<i64> = if left.is_empty() || right.is_empty() {
        let d = distances(lab, &[0]);
        d.iter().map(|&x| x.min(n) as i64).collect()
    } else {
        let (dl, dr) = (distances(lab, &left), distances(lab, &right));
        // The distance between the two sides.
        let across = left.iter().map(|&l| dr[l].min(n)).min().unwrap_or(0) as i64;
        dl.iter()
            .zip(&dr)
            .map(|(&a, &b)| {
                let (a, b) = (a.min(n) as i64, b.min(n) as i64);
                let s = a - b;
                if s >= across {
                    s + b
                } else if s <= -across {
                    s - a
                } else {
                    s
                }
            })
            .collect()
    };
    let mut levels: Vec<i64> = score.clone();
    levels.sort_unstable();
    levels.dedup();
    let mut rows = vec![0usize; levels.len()];
    score
        .iter()
        .map(|s| {
            let col = levels.binary_search(s).unwrap_or(0);
            rows[col] += 1;
            (col, rows[col] - 1)
        })
        .collect()
}

/// The topology as SVG.
pub fn topology_svg(lab: &Lab) -> Result<String, PlotError> {
    let places = layout(lab);
    let cols = places.iter().map(|p| p.0).max().unwrap_or(0) as i32 + 1;
    let rows = places.iter().map(|p| p.1).max().unwrap_or(0) as i32 + 1;
    let width = (2 * MARGIN + cols * COLUMN).max(600) as u32;
    let height = (2 * MARGIN + 40 + rows * ROW) as u32;
    let centre = |i: usize| {
        let (c, r) = places[i];
        (
            MARGIN + COLUMN / 2 + c as i32 * COLUMN,
            MARGIN + 40 + ROW / 2 + r as i32 * ROW,
        )
    };
    let failed = |e: DrawingAreaErrorKind<_>| PlotError::new(e);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let font = |size: f64| ("sans-serif", size).into_font();
        let centred = |size: f64| {
            font(size)
                .into_text_style(&root)
                .pos(Pos::new(HPos::Center, VPos::Center))
        };
        root.draw(&Text::new(
            format!(
                "{}: on premises, internet and provider edge, cloud",
                lab.name
            ),
            (MARGIN, 24),
            font(18.0),
        ))
        .map_err(failed)?;
        let grey = RGBColor(0x88, 0x88, 0x88);
        for l in &lab.links {
            let (a, b) = (centre(l.ends[0].0.index()), centre(l.ends[1].0.index()));
            root.draw(&PathElement::new(
                vec![a, b],
                ShapeStyle::from(grey).stroke_width(2),
            ))
            .map_err(failed)?;
        }
        let tunnel = RGBColor(0xe1, 0x57, 0x59);
        for t in &lab.tunnels {
            let (a, b) = (centre(t.ends[0].0.index()), centre(t.ends[1].0.index()));
            let style = ShapeStyle::from(tunnel).stroke_width(2);
            // Dashes, as plotters 0.3 has no dashed style for paths.
            let steps = (((b.0 - a.0).pow(2) + (b.1 - a.1).pow(2)) as f64).sqrt() as i32 / 12;
            for k in (0..steps.max(1)).step_by(2) {
                let at = |k: i32| {
                    (
                        a.0 + (b.0 - a.0) * k / steps.max(1),
                        a.1 + 14 + (b.1 - a.1) * k / steps.max(1),
                    )
                };
                root.draw(&PathElement::new(vec![at(k), at(k + 1)], style))
                    .map_err(failed)?;
            }
            let mid = ((a.0 + b.0) / 2, (a.1 + b.1) / 2 + 26);
            root.draw(&Text::new(
                format!("tunnel {} ({:?})", t.name, t.suite),
                mid,
                centred(11.0).color(&tunnel),
            ))
            .map_err(failed)?;
        }
        for (i, node) in lab.nodes.iter().enumerate() {
            let (x, y) = centre(i);
            let (fill, kind) = match node.role {
                Role::Host => (RGBColor(0xdd, 0xea, 0xf6), "host"),
                Role::Gateway => (RGBColor(0xfd, 0xe3, 0xc8), "gateway"),
                Role::Msee => (RGBColor(0xe5, 0xe5, 0xe5), "MSEE"),
                Role::Router | Role::CustomerEdge | Role::VnetFabric => {
                    (RGBColor(0xe3, 0xf1, 0xdf), "router")
                }
            };
            let (w, h) = (BOX.0 / 2, BOX.1 / 2);
            root.draw(&Rectangle::new(
                [(x - w, y - h), (x + w, y + h)],
                fill.filled(),
            ))
            .map_err(failed)?;
            root.draw(&Rectangle::new(
                [(x - w, y - h), (x + w, y + h)],
                BLACK.stroke_width(1),
            ))
            .map_err(failed)?;
            root.draw(&Text::new(node.name.clone(), (x, y - 5), centred(13.0)))
                .map_err(failed)?;
            root.draw(&Text::new(kind, (x, y + 9), centred(10.0).color(&grey)))
                .map_err(failed)?;
        }
        // Link labels last, on a white ground, so neither lines nor boxes hide them.
        for l in &lab.links {
            let (a, b) = (centre(l.ends[0].0.index()), centre(l.ends[1].0.index()));
            let d = &l.dirs[0];
            let mut label = format!("{}: {}", l.name, format_nanos(d.delay));
            if let Some(rate) = d.rate {
                label.push_str(&format!(", {}", format_bitrate(rate as f64)));
            }
            // Beside a vertical link, above the boxes of a level one, on a slanted one's middle.
            let half = 11 * label.len() as i32 / 4 + 2;
            let at = if a.0 == b.0 {
                (a.0 + 8 + half, (a.1 + b.1) / 2)
            } else if a.1 == b.1 {
                ((a.0 + b.0) / 2, a.1 - BOX.1 / 2 - 10)
            } else {
                ((a.0 + b.0) / 2, (a.1 + b.1) / 2 - 8)
            };
            root.draw(&Rectangle::new(
                [(at.0 - half, at.1 - 7), (at.0 + half, at.1 + 7)],
                WHITE.mix(0.85).filled(),
            ))
            .map_err(failed)?;
            root.draw(&Text::new(label, at, centred(10.0)))
                .map_err(failed)?;
        }
        root.present().map_err(failed)?;
    }
    Ok(svg)
}
