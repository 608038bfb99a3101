//! The Slurm array job of a sweep: one task per run of the grid.

use std::path::{Path, PathBuf};

use neuromod_train::write_atomic;

use crate::SweepError;

/// Writes `<out>/sweep.sbatch`, the Slurm array job whose task i runs `neuromod sweep SPEC
/// --out DIR --task i`; returns its path.
pub fn write_sbatch(exe: &Path, spec: &Path, out: &Path, n: usize) -> Result<PathBuf, SweepError> {
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (spec, out_abs) = (abs(spec), abs(out));
    // Quoted for the shell: paths may hold spaces or quotes.
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let logs = out_abs.join("slurm");
    std::fs::create_dir_all(&logs).map_err(SweepError::io(&logs, "create"))?;
    let script = format!(
        "#!/bin/bash\n\
         #SBATCH --job-name=neuromod-sweep\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --cpus-per-task=1\n\
         #SBATCH --output={logs}/%A_%a.out\n\
         # One array task per run of the grid; rerunning the job skips finished runs and\n\
         # resumes interrupted ones. Written by `neuromod sweep --slurm`.\n\
         exec {exe} sweep {spec} --out {out} --task \"$SLURM_ARRAY_TASK_ID\"\n",
        last = n - 1,
        logs = logs.display(),
        exe = quote(exe),
        spec = quote(&spec),
        out = quote(&out_abs),
    );
    let path = out.join("sweep.sbatch");
    write_atomic(&path, script.as_bytes()).map_err(SweepError::io(&path, "write"))?;
    Ok(path)
}
