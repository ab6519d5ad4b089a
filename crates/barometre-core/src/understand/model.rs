//! A linear model over hashed features: multinomial logistic regression, trained by AdaGrad with
//! L2 on the labelled set, in a fixed order (the same weights on every machine and every run).

use super::features::BITS;

/// Labels the model chooses between.
pub const K: usize = super::Label::ALL.len();
const DIM: usize = 1 << BITS;

/// How a model is trained: part of its version.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Training {
    pub epochs: usize,
    pub rate: f32,
    pub l2: f32,
    pub seed: u64,
}

pub const TRAINING: Training = Training { epochs: 40, rate: 0.1, l2: 0.0, seed: 0x6261_726f };

pub struct Model {
    /// `DIM × K`, a feature's weights for every label side by side.
    w: Vec<f32>,
}

/// A message as the model learns from it: its features, each with its weight, and its label.
pub struct Example {
    pub x: Vec<(u32, f32)>,
    pub y: usize,
}

/// Features with their counts, scaled so that a long message weighs as much as a short one.
pub fn weigh(mut f: Vec<u32>) -> Vec<(u32, f32)> {
    f.sort_unstable();
    let mut out: Vec<(u32, f32)> = Vec::with_capacity(f.len());
    for i in f {
        match out.last_mut() {
            Some((j, c)) if *j == i => *c += 1.0,
            _ => out.push((i, 1.0)),
        }
    }
    let norm = out.iter().map(|(_, c)| c * c).sum::<f32>().sqrt().max(1.0);
    for (_, c) in &mut out {
        *c /= norm;
    }
    out
}

fn scores(w: &[f32], x: &[(u32, f32)]) -> [f32; K] {
    let mut s = [0f32; K];
    for &(i, v) in x {
        for (sk, wk) in s.iter_mut().zip(&w[i as usize * K..(i as usize + 1) * K]) {
            *sk += wk * v;
        }
    }
    s
}

impl Model {
    pub fn scores(&self, x: &[(u32, f32)]) -> [f32; K] {
        scores(&self.w, x)
    }

    pub fn predict(&self, x: &[(u32, f32)]) -> usize {
        let s = self.scores(x);
        // Ties go to the earlier label (the guide's precedence).
        (0..K).fold(0, |best, k| if s[k] > s[best] { k } else { best })
    }

    pub fn train(data: &[Example], t: Training) -> Model {
        let mut w = vec![0f32; DIM * K];
        let mut g = vec![1e-6f32; DIM * K];
        // Each label weighs as much as the others whatever its count: a rare label is not
        // drowned by a frequent one.
        let mut counts = [0usize; K];
        for e in data {
            counts[e.y] += 1;
        }
        let weight: Vec<f32> =
            counts.iter().map(|&c| if c == 0 { 0.0 } else { data.len() as f32 / (K as f32 * c as f32) }).collect();
        let mut order: Vec<usize> = (0..data.len()).collect();
        let mut rng = t.seed | 1;
        for _ in 0..t.epochs {
            // Fisher–Yates with xorshift: a fixed order for a fixed seed.
            for i in (1..order.len()).rev() {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                order.swap(i, (rng % (i as u64 + 1)) as usize);
            }
            for &n in &order {
                let e = &data[n];
                let mut s = scores(&w, &e.x);
                let max = s.iter().copied().fold(f32::MIN, f32::max);
                let mut z = 0f32;
                for v in &mut s {
                    *v = (*v - max).exp();
                    z += *v;
                }
                for &(i, v) in &e.x {
                    for (k, sk) in s.iter().enumerate() {
                        let p = sk / z;
                        let at = i as usize * K + k;
                        let grad = weight[e.y] * (p - if k == e.y { 1.0 } else { 0.0 }) * v + t.l2 * w[at];
                        g[at] += grad * grad;
                        w[at] -= t.rate * grad / g[at].sqrt();
                    }
                }
            }
        }
        Model { w }
    }
}
