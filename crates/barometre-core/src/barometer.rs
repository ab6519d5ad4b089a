//! The mystery-shopper barometer (METRICS.md §7, seeds 002 and 003): test questions sent to
//! brands on several channels; per brand and channel, the response rate, response time, full
//! resolution rate and signed reply rate, with Wilson 95 % intervals, and a ranking.
//!
//! - `response_rate` = answered probes / probes;
//! - `full_resolution_rate` = answers with `resolution = complete` / answers whose resolution is
//!   known (seed 002: "87 % des réponses apportent une résolution complète");
//! - `signed_reply_rate` = signed answers / answers whose signature is known;
//! - `response_time` = answer − sending, over answered probes;
//! - the composite **score** (0–100) = 50 % response rate + 30 % full resolution rate + 20 % share
//!   of probes answered within 24 h, each weight spread over the parts a brand has data for; brands
//!   rank by score (ties by name); **tier** 1 from 75, 2 from 50, 3 below.

use crate::model::{Probe, Resolution};
use crate::stats::Durations;
use serde::Serialize;
use std::collections::BTreeMap;

const Z: f64 = 1.959_963_984_540_054;

/// A rate in percent with its Wilson 95 % interval (in percent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    pub value: Option<f64>,
    pub numerator: u64,
    pub denominator: u64,
    pub ci95: Option<[f64; 2]>,
}

impl Rate {
    pub fn new(k: u64, n: u64) -> Rate {
        if n == 0 {
            return Rate { value: None, numerator: k, denominator: n, ci95: None };
        }
        let (kf, nf) = (k as f64, n as f64);
        let p = kf / nf;
        let denom = 1.0 + Z * Z / nf;
        let centre = (p + Z * Z / (2.0 * nf)) / denom;
        let half = Z / denom * (p * (1.0 - p) / nf + Z * Z / (4.0 * nf * nf)).sqrt();
        Rate {
            value: Some(p * 100.0),
            numerator: k,
            denominator: n,
            ci95: Some([((centre - half) * 100.0).max(0.0), ((centre + half) * 100.0).min(100.0)]),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub response_rate: Rate,
    pub full_resolution_rate: Rate,
    pub signed_reply_rate: Rate,
    pub response_time: Durations,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Brand {
    pub brand: String,
    pub rank: usize,
    pub tier: u8,
    pub score: Option<f64>,
    pub total: Figures,
    pub by_channel: BTreeMap<String, Figures>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Barometer {
    pub campaign: Option<String>,
    pub probes: u64,
    pub by_channel: BTreeMap<String, Figures>,
    pub brands: Vec<Brand>,
}

fn figures(probes: &[&Probe]) -> Figures {
    let answered: Vec<&&Probe> = probes.iter().filter(|p| p.answered_at.is_some()).collect();
    let resolved: Vec<_> = answered.iter().filter_map(|p| p.resolution).collect();
    let signed: Vec<bool> = answered.iter().filter_map(|p| p.signed).collect();
    Figures {
        response_rate: Rate::new(answered.len() as u64, probes.len() as u64),
        full_resolution_rate: Rate::new(
            resolved.iter().filter(|r| **r == Resolution::Complete).count() as u64,
            resolved.len() as u64,
        ),
        signed_reply_rate: Rate::new(signed.iter().filter(|s| **s).count() as u64, signed.len() as u64),
        response_time: Durations::from_ms(
            answered.iter().filter_map(|p| p.answered_at.map(|a| a.ms - p.sent_at.ms)).collect(),
        ),
    }
}

/// The score of a brand's probes (see the module docs).
fn score(probes: &[&Probe], f: &Figures) -> Option<f64> {
    let within = Rate::new(
        probes.iter().filter(|p| p.answered_at.is_some_and(|a| a.ms - p.sent_at.ms <= 86_400_000)).count() as u64,
        probes.len() as u64,
    );
    let parts = [(0.5, f.response_rate.value), (0.3, f.full_resolution_rate.value), (0.2, within.value)];
    let w: f64 = parts.iter().filter(|(_, v)| v.is_some()).map(|(w, _)| w).sum();
    (w > 0.0).then(|| parts.iter().filter_map(|(wi, v)| v.map(|v| wi * v)).sum::<f64>() / w)
}

/// The barometer of one campaign (all of them when `campaign` is `None`).
pub fn build(all: &[Probe], campaign: Option<&str>) -> Barometer {
    let probes: Vec<&Probe> = all.iter().filter(|p| campaign.is_none_or(|c| p.campaign == c)).collect();
    fn group<'a>(key: &dyn Fn(&Probe) -> String, of: &[&'a Probe]) -> BTreeMap<String, Vec<&'a Probe>> {
        let mut m: BTreeMap<String, Vec<&'a Probe>> = BTreeMap::new();
        for p in of {
            m.entry(key(p)).or_default().push(*p);
        }
        m
    }
    let by_channel = group(&|p| p.channel.clone(), &probes).into_iter().map(|(k, v)| (k, figures(&v))).collect();
    let mut brands: Vec<Brand> = group(&|p| p.brand.clone(), &probes)
        .into_iter()
        .map(|(brand, v)| {
            let total = figures(&v);
            Brand {
                score: score(&v, &total),
                by_channel: group(&|p| p.channel.clone(), &v).into_iter().map(|(k, w)| (k, figures(&w))).collect(),
                brand,
                rank: 0,
                tier: 3,
                total,
            }
        })
        .collect();
    brands.sort_by(|a, b| {
        b.score.unwrap_or(-1.0).total_cmp(&a.score.unwrap_or(-1.0)).then_with(|| a.brand.cmp(&b.brand))
    });
    for (i, b) in brands.iter_mut().enumerate() {
        b.rank = i + 1;
        b.tier = match b.score {
            Some(s) if s >= 75.0 => 1,
            Some(s) if s >= 50.0 => 2,
            _ => 3,
        };
    }
    let campaigns: std::collections::BTreeSet<&str> = probes.iter().map(|p| p.campaign.as_str()).collect();
    Barometer {
        campaign: campaign
            .map(str::to_string)
            .or_else(|| (campaigns.len() == 1).then(|| campaigns.iter().next().map(|c| c.to_string())).flatten()),
        probes: probes.len() as u64,
        by_channel,
        brands,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Stamp;

    fn probe(
        i: usize,
        brand: &str,
        channel: &str,
        answered_h: Option<i64>,
        res: Option<Resolution>,
        signed: Option<bool>,
    ) -> Probe {
        let sent = 1_775_455_200_000 + i as i64 * 1000;
        Probe {
            probe_id: format!("p{i}"),
            campaign: "qualiweb-2026".into(),
            brand: brand.into(),
            channel: channel.into(),
            sent_at: Stamp::utc(sent),
            answered_at: answered_h.map(|h| Stamp::utc(sent + h * 3_600_000)),
            resolution: res,
            signed,
        }
    }

    #[test]
    fn seed_002_wall_thirty_percent_against_private_messages_seventy_eight() {
        // 100 wall questions, 30 answered; 100 private messages, 78 answered.
        let mut v = Vec::new();
        for i in 0..100 {
            v.push(probe(i, "b", "facebook_wall", (i < 30).then_some(2), None, None));
            v.push(probe(100 + i, "b", "facebook_messenger", (i < 78).then_some(2), None, None));
        }
        let b = build(&v, None);
        assert_eq!(b.by_channel["facebook_wall"].response_rate.value, Some(30.0));
        assert_eq!(b.by_channel["facebook_messenger"].response_rate.value, Some(78.0));
        assert_eq!(b.campaign.as_deref(), Some("qualiweb-2026"));
    }

    #[test]
    fn wilson_interval_of_eighty_seven_in_a_hundred() {
        // Wilson 95 %, p = .87, n = 100, z = 1.96: centre (0.87 + z²/200) / (1 + z²/100) = 0.85631,
        // half-width z / 1.038415 × √(0.87 × 0.13 / 100 + z² / 40 000) = 0.066117 → [79.02, 92.24].
        let r = Rate::new(87, 100);
        let [lo, hi] = r.ci95.unwrap();
        assert!((lo - 79.02).abs() < 0.005 && (hi - 92.24).abs() < 0.005, "{lo} {hi}");
        assert_eq!(Rate::new(0, 0).ci95, None);
    }

    #[test]
    fn brands_rank_by_a_documented_score_with_tiers() {
        let mut v = Vec::new();
        // alpha: all answered within 2 h, complete → 100.
        for i in 0..4 {
            v.push(probe(i, "alpha", "email", Some(2), Some(Resolution::Complete), Some(true)));
        }
        // beta: half answered (after 48 h), partial → 0.5 × 50 + 0.3 × 0 + 0.2 × 0 = 25.
        for i in 0..4 {
            v.push(probe(10 + i, "beta", "email", (i < 2).then_some(48), Some(Resolution::Partial), Some(false)));
        }
        let b = build(&v, Some("qualiweb-2026"));
        let got: Vec<(&str, usize, u8, Option<f64>)> =
            b.brands.iter().map(|x| (x.brand.as_str(), x.rank, x.tier, x.score)).collect();
        assert_eq!(got, [("alpha", 1, 1, Some(100.0)), ("beta", 2, 3, Some(25.0))]);
        assert_eq!(b.brands[1].total.full_resolution_rate.value, Some(0.0));
        assert_eq!(b.brands[0].total.signed_reply_rate.value, Some(100.0));
        assert_eq!(b.brands[1].by_channel["email"].response_time.median, Some(48.0 * 3600.0));
    }
}
