//! A Rust program of the corpus that uses std: files, arguments, stdin, collections, float
//! formatting, a caught panic, stdout and stderr. Its output depends on nothing but its input
//! (HashMap contents are sorted before printing), so replicas and the Linux reference agree.
//!
//!   rust-std TEXT            counts TEXT's words, prints a report, writes rust-out.txt,
//!                            exits 0 (2 when TEXT cannot be read).
//!   rust-std --threads TEXT  the same counts by 4 std threads fed through channels, summed
//!                            under a mutex and joined.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::panic;

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

fn checked_ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        panic!("ratio of {a} to zero");
    }
    a as f64 / b as f64
}

/// Word counts by worker threads: lines go out round robin through one channel per worker,
/// counts come back through a shared channel and are summed under a mutex.
fn threaded(text: &str) {
    use std::sync::{Arc, Mutex, mpsc};
    const WORKERS: usize = 4;
    let total = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
    let (done_tx, done_rx) = mpsc::channel::<(usize, usize)>();
    let mut senders = Vec::new();
    let mut handles = Vec::new();
    for id in 0..WORKERS {
        let (tx, rx) = mpsc::channel::<String>();
        senders.push(tx);
        let (total, done) = (Arc::clone(&total), done_tx.clone());
        handles.push(std::thread::spawn(move || {
            let mut lines = 0;
            for line in rx {
                let mut mine = BTreeMap::<String, usize>::new();
                for w in words(&line) {
                    *mine.entry(w).or_default() += 1;
                }
                let mut all = total.lock().unwrap();
                for (w, n) in mine {
                    *all.entry(w).or_default() += n;
                }
                lines += 1;
            }
            done.send((id, lines)).unwrap();
            id * 100 + lines
        }));
    }
    drop(done_tx);
    for (i, line) in text.lines().enumerate() {
        senders[i % WORKERS].send(line.to_string()).unwrap();
    }
    drop(senders);
    let mut reports: Vec<(usize, usize)> = done_rx.iter().collect();
    reports.sort();
    let joined: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let all = total.lock().unwrap();
    let words: usize = all.values().sum();
    println!("rust-std threads: {WORKERS} workers, {words} words, {} distinct", all.len());
    for (id, lines) in reports {
        println!("  worker {id}: {lines} lines");
    }
    println!("  joined: {joined}");
    let mut top: Vec<(&String, &usize)> = all.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (w, n) in top.iter().take(3) {
        println!("  {w} {n}");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--threads") {
        match args.get(2).map(std::fs::read_to_string) {
            Some(Ok(text)) => threaded(&text),
            _ => {
                eprintln!("usage: rust-std --threads TEXT");
                std::process::exit(2);
            }
        }
        return;
    }
    let Some(path) = args.get(1) else {
        eprintln!("usage: rust-std TEXT");
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("rust-std: cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let words = words(&text);
    println!(
        "rust-std: {} args, {} words, {} lines, {} bytes",
        args.len(),
        words.len(),
        text.lines().count(),
        text.len()
    );

    // Ordered counts, and the most frequent words (count descending, then alphabetically).
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for w in &words {
        *counts.entry(w.as_str()).or_default() += 1;
    }
    let mut top: Vec<(&str, usize)> = counts.iter().map(|(w, n)| (*w, *n)).collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    println!("distinct {}", counts.len());
    for (i, (w, n)) in top.iter().take(5).enumerate() {
        println!("  {:>2}. {:<10}{:>3}", i + 1, w, n);
    }

    // Word lengths in a HashMap: its iteration order is random, so it is sorted first.
    let mut lengths: HashMap<usize, usize> = HashMap::new();
    for w in &words {
        *lengths.entry(w.chars().count()).or_default() += 1;
    }
    let mut lengths: Vec<(usize, usize)> = lengths.into_iter().collect();
    lengths.sort_unstable();
    let shown: Vec<String> = lengths.iter().map(|(l, n)| format!("{l}:{n}")).collect();
    println!("lengths {}", shown.join(" "));

    // Float formatting.
    let letters: usize = words.iter().map(|w| w.chars().count()).sum();
    let mean = checked_ratio(letters, words.len());
    let numbers: Vec<f64> = words.iter().filter_map(|w| w.parse::<f64>().ok()).collect();
    let sum: f64 = numbers.iter().sum();
    println!(
        "mean length {mean:.3}, width {mean:>9.2}|, exp {:e}, numbers {:?} sum {sum:.1} sqrt {:.6}",
        mean * 1000.0,
        numbers,
        sum.sqrt()
    );

    // A panic caught with catch_unwind; a quiet hook of our own (the default one names the
    // source line), restored afterwards.
    panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("?");
        eprintln!("rust-std: panic hook: {msg}");
    }));
    let caught = panic::catch_unwind(|| checked_ratio(words.len(), 0));
    let _ = panic::take_hook();
    match caught {
        Ok(r) => println!("no panic? {r}"),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default();
            println!("caught panic: {msg}");
        }
    }

    // Whatever stdin holds (often nothing).
    let mut input = Vec::new();
    match std::io::stdin().read_to_end(&mut input) {
        Ok(n) => println!(
            "stdin {n} bytes, {} lines",
            input.iter().filter(|&&b| b == b'\n').count()
        ),
        Err(e) => println!("stdin unreadable: {e}"),
    }

    // The report file.
    let mut report = format!("words {}\n", words.len());
    for (w, n) in &counts {
        report.push_str(&format!("{w} {n}\n"));
    }
    if let Err(e) = std::fs::write("rust-out.txt", &report) {
        eprintln!("rust-std: cannot write rust-out.txt: {e}");
        std::process::exit(1);
    }
    println!("wrote rust-out.txt ({} lines)", counts.len() + 1);
    std::io::stdout().flush().expect("stdout");
    eprintln!("rust-std: done");
    std::process::exit(0);
}
