//! A mean survey score (`csat_mean`, `ces`; seed 004): on the answers' own scale when every answer
//! of the group used the same one (`null` when they differ: scales are never guessed, METRICS §4),
//! or, with `onto`, each answer first mapped linearly onto that scale (CES is read on 1–7 whatever
//! scale it was asked on).

use super::{per_survey, surveys_of, Drill, Indicator, Pass, Shape, Source};
use crate::drill::{survey_json, with, Row};
use crate::table::SurveyRow;
use crate::value::{Mean, Value};
use serde_json::json;

/// A mean of the answers satisfying `pred`.
pub struct SurveyMean {
    pub pred: fn(&SurveyRow) -> bool,
    pub onto: Option<(f64, f64)>,
    /// Said with the value (`ces`: lower is better); the registry's `higher_is_better` twin.
    pub lower_is_better: bool,
}

impl SurveyMean {
    /// An answer's score and scale as the mean adds it up: as given, or mapped onto `onto`.
    fn score(&self, s: &SurveyRow) -> Option<(f64, f64, f64)> {
        if !(self.pred)(s) {
            return None;
        }
        let score = s.score()?;
        Some(match self.onto {
            Some((lo, hi)) if (s.scale_min, s.scale_max) != (lo, hi) => {
                (lo + (score - s.scale_min) / (s.scale_max - s.scale_min) * (hi - lo), lo, hi)
            }
            _ => (score, s.scale_min, s.scale_max),
        })
    }
}

/// Σ scores, answers, their scale, whether two scales met.
#[derive(Clone, Copy, Default)]
pub struct Part {
    sum: f64,
    n: u64,
    lo: f64,
    hi: f64,
    mixed: bool,
}

impl Indicator for SurveyMean {
    type Part = Part;
    fn shape(&self) -> Shape {
        Shape::Mean
    }
    fn source(&self) -> Source {
        Source::Records
    }
    fn accumulate(&self, q: &Pass<'_>) -> Vec<Part> {
        per_survey(q, Part::default(), |p, s| {
            if let Some((score, lo, hi)) = self.score(s) {
                self.merge(p, &Part { sum: score, n: 1, lo, hi, mixed: false });
            }
        })
    }
    fn merge(&self, into: &mut Part, other: &Part) {
        if other.n == 0 {
            return;
        }
        if into.n > 0 && (into.lo != other.lo || into.hi != other.hi) {
            into.mixed = true;
        }
        if into.n == 0 {
            (into.lo, into.hi) = (other.lo, other.hi);
        }
        into.sum += other.sum;
        into.n += other.n;
        into.mixed |= other.mixed;
    }
    fn finish(&self, p: &mut Part, _: &Pass<'_>) -> Value {
        let one_scale = p.n > 0 && !p.mixed;
        Value::Mean(Mean {
            value: one_scale.then(|| p.sum / p.n as f64),
            count: p.n,
            scale_min: one_scale.then_some(p.lo),
            scale_max: one_scale.then_some(p.hi),
            lower_is_better: self.lower_is_better,
        })
    }
    /// The answers the mean adds up, each with the score it adds (as mapped onto the common
    /// scale).
    fn explain(&self, d: &Drill<'_>) -> Vec<Row> {
        surveys_of(d)
            .into_iter()
            .filter_map(|(s, r)| self.score(&r).map(|(score, _, _)| with(survey_json(s), "value", json!(score))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::metrics::{Rule, METRICS};

    #[test]
    fn a_mean_says_lower_is_better_exactly_when_the_registry_does() {
        for d in METRICS {
            if let (Rule::Own(_), crate::value::Shape::Mean) = (&d.rule, d.shape()) {
                let cfg = crate::config::Config::default();
                let r = crate::report::build(&Default::default(), &Default::default(), &cfg);
                let Some(crate::value::Value::Mean(m)) = r.total.metrics.get(d.id) else { panic!("{}", d.id) };
                assert_eq!(m.lower_is_better, !d.higher_is_better, "{}", d.id);
            }
        }
    }
}
