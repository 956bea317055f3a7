//! MiBench telecomm/adpcm: `rawcaudio` (encode, default) or `rawdaudio` (`decode`).
#![no_std]
#![no_main]
romain_replica::main!(main);

fn main() -> i32 {
    mibench::main("adpcm", |run, out| {
        if run.arg(0) == Some("decode") {
            let input = run.input(
                mibench::embedded_input!("adpcm"),
                mibench_adpcm::generated_small_adpcm_input,
                mibench_adpcm::generated_large_adpcm_input,
            );
            let (pcm, state) = mibench_adpcm::rawdaudio(&input);
            mibench_adpcm::write_summary("decoded", &pcm, out)?;
            mibench_adpcm::write_final_state(&state, out)
        } else {
            let input = run.input(
                mibench::embedded_input!("adpcm"),
                mibench_adpcm::generated_small_input,
                mibench_adpcm::generated_large_input,
            );
            let (adpcm, state) = mibench_adpcm::rawcaudio(&input);
            mibench_adpcm::write_summary("encoded", &adpcm, out)?;
            mibench_adpcm::write_final_state(&state, out)
        }
    })
}
