//! Net Promoter Score (seeds 003, 004): % promoters (9–10) − % detractors (0–6) of the answers to
//! the `nps` survey, on 0–10.

use super::{per_survey, surveys_of, Drill, Indicator, Pass, Shape, Source};
use crate::drill::{survey_json, with, Row};
use crate::table::{SurveyKind, SurveyRow};
use crate::value::{Nps as NpsValue, Value};
use serde_json::json;

/// `nps`.
pub struct Nps;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Promoter,
    Passive,
    Detractor,
}

/// The class of an answer the score counts; `None` for other answers.
fn class(s: &SurveyRow) -> Option<Class> {
    let (SurveyKind::Nps, Some(score)) = (s.kind, s.score()) else { return None };
    Some(if score >= 9.0 {
        Class::Promoter
    } else if score <= 6.0 {
        Class::Detractor
    } else {
        Class::Passive
    })
}

/// Promoters, passives, detractors.
#[derive(Clone, Copy, Default)]
pub struct Part([u64; 3]);

impl Indicator for Nps {
    type Part = Part;
    fn shape(&self) -> Shape {
        Shape::Nps
    }
    fn source(&self) -> Source {
        Source::Records
    }
    fn accumulate(&self, q: &Pass<'_>) -> Vec<Part> {
        per_survey(q, Part::default(), |p, s| {
            if let Some(c) = class(s) {
                p.0[c as usize] += 1;
            }
        })
    }
    fn merge(&self, into: &mut Part, other: &Part) {
        for (a, b) in into.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }
    fn finish(&self, part: &mut Part, _: &Pass<'_>) -> Value {
        let [pro, pas, det] = part.0;
        let count = pro + pas + det;
        Value::Nps(NpsValue {
            value: (count > 0).then(|| (pro as f64 - det as f64) * 100.0 / count as f64),
            promoters: pro,
            passives: pas,
            detractors: det,
            count,
        })
    }
    /// The group's NPS answers, each with its class.
    fn explain(&self, d: &Drill<'_>) -> Vec<Row> {
        surveys_of(d)
            .into_iter()
            .filter_map(|(s, r)| {
                let name = match class(&r)? {
                    Class::Promoter => "promoter",
                    Class::Passive => "passive",
                    Class::Detractor => "detractor",
                };
                Some(with(survey_json(s), "nps_class", json!(name)))
            })
            .collect()
    }
}
