//! What reading a text costs on one core: the labelled set's 1,800 texts (tweets to e-mails,
//! French and English) labelled, read for their themes, and matched against a 30-entry FAQ,
//! again and again. `cargo bench -p barometre-core --bench label`.

use barometre_core::understand::faq::{evaluation_set, theme_bits};
use barometre_core::understand::{label, labelled_set};
use std::time::Instant;

/// The best of three runs of `rounds` passes of `f` over `texts`: messages a second.
fn rate(texts: &[String], rounds: usize, f: impl Fn(&str) -> u64) -> (f64, f64) {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let mut n = 0u64;
        for _ in 0..rounds {
            for s in texts {
                n = n.wrapping_add(f(s));
            }
        }
        std::hint::black_box(n);
        best = best.min(t.elapsed().as_secs_f64());
    }
    let messages = (rounds * texts.len()) as f64;
    (messages / best, best / messages * 1e6)
}

fn main() {
    let texts: Vec<String> = labelled_set().into_iter().map(|l| l.text).collect();
    // The model is trained on first use: not part of the measure.
    let t0 = Instant::now();
    let _ = label("bonjour");
    let training = t0.elapsed();
    let (r, us) = rate(&texts, 60, |s| label(s) as u64);
    println!("labels: {r:.0} messages/s on one core ({us:.2} µs each); training {:.2} s", training.as_secs_f64());
    let (r, us) = rate(&texts, 60, theme_bits);
    println!("themes: {r:.0} messages/s on one core ({us:.2} µs each)");
    let faq = evaluation_set().remove(0).0;
    let (r, us) = rate(&texts, 20, |s| u64::from(faq.answer(s).unwrap_or(0)));
    println!("FAQ of {} entries: {r:.0} messages/s on one core ({us:.2} µs each)", faq.entries().len());
}
