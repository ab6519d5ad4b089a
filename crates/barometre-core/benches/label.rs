//! Labelling speed on one core: the labelled set's 1,800 texts (tweets to e-mails, French and
//! English) labelled again and again. `cargo bench -p barometre-core --bench label`.

use barometre_core::understand::{label, labelled_set};
use std::time::Instant;

fn main() {
    let texts: Vec<String> = labelled_set().into_iter().map(|l| l.text).collect();
    // The model is trained on first use: not part of the measure.
    let t0 = Instant::now();
    let _ = label("bonjour");
    let training = t0.elapsed();
    let rounds = 60;
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let mut n = 0usize;
        for _ in 0..rounds {
            for s in &texts {
                n += label(s) as usize;
            }
        }
        std::hint::black_box(n);
        best = best.min(t.elapsed().as_secs_f64());
    }
    let messages = (rounds * texts.len()) as f64;
    println!(
        "labelled {messages} messages in {best:.3} s on one core: {:.0} messages/s ({:.2} µs each); training {:.2} s",
        messages / best,
        best / messages * 1e6,
        training.as_secs_f64()
    );
}
