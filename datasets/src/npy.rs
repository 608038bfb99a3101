//! User data as a NumPy `.npy` array of float32 `[N, T, D]`: N sequences of T steps.

use std::path::Path;

use crate::{DataError, SequenceSet};

/// Reads `path`; every value must be a finite float32.
pub fn load(path: &Path) -> Result<SequenceSet, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse(&bytes, path)
}

/// Parses the bytes of an `.npy` file (`path` only names the source in errors).
pub fn parse(bytes: &[u8], path: &Path) -> Result<SequenceSet, DataError> {
    let header = |reason: String| DataError::invalid(path, "header", reason);
    let npy =
        npyz::NpyFile::new(bytes).map_err(|e| header(format!("not a valid .npy file: {e}")))?;
    let shape = npy.shape().to_vec();
    let [n, t, d] = shape[..] else {
        return Err(header(format!(
            "expected a 3-d array [sequences, steps, features], found shape {shape:?}"
        )));
    };
    if n == 0 || t == 0 || d == 0 {
        return Err(header(format!("array shape {shape:?} has an empty axis")));
    }
    if npy.order() != npyz::Order::C {
        return Err(header(
            "Fortran-ordered arrays are not supported; save with np.ascontiguousarray".into(),
        ));
    }
    let dtype = npy.dtype();
    let values: Vec<f32> = npy.into_vec::<f32>().map_err(|e| {
        header(format!(
            "expected float32 data ('<f4'), found {}: {e}",
            dtype.descr()
        ))
    })?;
    let (n, t, d) = (n as usize, t as usize, d as usize);
    if values.len() != n * t * d {
        return Err(DataError::invalid(
            path,
            "data",
            format!(
                "file holds {} values but shape {shape:?} needs {}",
                values.len(),
                n * t * d
            ),
        ));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        let (seq, step, feat) = (i / (t * d), (i / d) % t, i % d);
        return Err(DataError::invalid(
            path,
            format!("index [{seq}, {step}, {feat}]"),
            format!("value {} is not finite", values[i]),
        ));
    }
    Ok(SequenceSet {
        dim: d,
        sequences: values.chunks(t * d).map(<[f32]>::to_vec).collect(),
    })
}

/// Writes equal-length sequences as float32 `[N, T, D]`.
pub fn save(set: &SequenceSet, path: &Path) -> Result<(), DataError> {
    let t = set.max_steps();
    if (0..set.len()).any(|i| set.steps(i) != t) {
        return Err(DataError::invalid(
            path,
            "data",
            "NPY needs sequences of equal length",
        ));
    }
    let shape = [set.len() as u64, t as u64, set.dim as u64];
    let file = std::fs::File::create(path).map_err(|e| DataError::io(path, e))?;
    write_f32(
        std::io::BufWriter::new(file),
        &shape,
        set.sequences.iter().flatten().copied(),
    )
    .map_err(|e| DataError::io(path, e))
}

/// Writes a C-ordered little-endian float32 array of `shape` to `out`.
pub fn write_f32<W: std::io::Write>(
    out: W,
    shape: &[u64],
    data: impl IntoIterator<Item = f32>,
) -> std::io::Result<()> {
    use npyz::WriterBuilder;
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .writer(out)
        .shape(shape)
        .begin_nd()?;
    writer.extend(data)?;
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(shape: &[u64], values: &[f32]) -> Vec<u8> {
        let mut buf = Vec::new();
        write_f32(&mut buf, shape, values.iter().copied()).unwrap();
        buf
    }

    #[test]
    fn reads_a_3d_float32_array() {
        let values: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let set = parse(&write(&[2, 3, 2], &values), Path::new("a.npy")).unwrap();
        assert_eq!((set.len(), set.dim, set.steps(1)), (2, 2, 3));
        assert_eq!(set.sequences[1], values[6..]);
    }

    #[test]
    fn rejects_nan_with_its_index() {
        let mut values = vec![0.0f32; 12];
        values[9] = f32::NAN;
        let err = parse(&write(&[2, 3, 2], &values), Path::new("a.npy"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a.npy") && err.contains("index [1, 1, 1]"),
            "{err}"
        );
    }

    #[test]
    fn rejects_wrong_rank_and_dtype_and_garbage() {
        let err = parse(&write(&[12], &[0.0; 12]), Path::new("a.npy"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("3-d array"), "{err}");
        let mut f64_file = Vec::new();
        {
            use npyz::WriterBuilder;
            let mut w = npyz::WriteOptions::<f64>::new()
                .default_dtype()
                .writer(&mut f64_file)
                .shape(&[1, 1, 1])
                .begin_nd()
                .unwrap();
            w.push(&1.0).unwrap();
            w.finish().unwrap();
        }
        let err = parse(&f64_file, Path::new("a.npy"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("float32"), "{err}");
        let err = parse(b"not numpy", Path::new("a.npy"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a valid .npy"), "{err}");
    }
}
