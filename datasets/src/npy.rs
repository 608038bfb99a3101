//! User data as a NumPy `.npy` array of float32 `[N, T, D]`: N sequences of T steps.

use std::path::Path;

use crate::{DataError, SequenceSet};

/// Reads `path`; every value must be a finite float32.
pub fn load(path: &Path) -> Result<SequenceSet, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse(&bytes, path)
}

/// Checks the framing of an `.npy` header before npyz parses it: magic, version, length, and
/// a flat dictionary literal. npyz's header parser takes exponential time on deeply nested
/// brackets (found by fuzzing: a 210-byte file with 50 `{` took over 20 s), and a valid
/// header nests two deep at most (`{'shape': (..)}`). Returns the offset where the data starts.
fn header_end(bytes: &[u8]) -> Result<usize, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a valid .npy file: no \\x93NUMPY magic at the start".into());
    }
    let (len, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    let end = start
        .checked_add(len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| format!("header of {len} bytes runs past the end of the file"))?;
    let mut depth = 0usize;
    for &b in &bytes[start..end] {
        match b {
            b'{' | b'(' | b'[' => {
                depth += 1;
                if depth > 2 {
                    return Err("header dictionary is nested too deeply".into());
                }
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    // npyz multiplies the claimed shape unchecked (an overflow panic in debug builds, seen in
    // a unit test next to the fuzz finding): a shape whose float32 size overflows or exceeds
    // the data is refused here.
    let text = String::from_utf8_lossy(&bytes[start..end]);
    if let Some(dims) = claimed_shape(&text) {
        let data = (bytes.len() - end) as u64;
        let size = dims.iter().try_fold(4u64, |acc, &k| acc.checked_mul(k));
        if size.is_none_or(|b| b > data) {
            return Err(format!(
                "shape {dims:?} of float32 needs {} bytes, the file holds {data} after the header",
                size.map_or("more than fit in memory".to_string(), |b| b.to_string())
            ));
        }
    }
    Ok(end)
}

/// The integers of `'shape': (..)` in a header, when they all parse.
fn claimed_shape(header: &str) -> Option<Vec<u64>> {
    let after = &header[header.find("'shape'")?..];
    let open = after.find('(')?;
    let close = open + after[open..].find(')')?;
    after[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().ok())
        .collect()
}

/// Parses the bytes of an `.npy` file (`path` only names the source in errors).
pub fn parse(bytes: &[u8], path: &Path) -> Result<SequenceSet, DataError> {
    let header = |reason: String| DataError::invalid(path, "header", reason);
    let data_start = header_end(bytes).map_err(header)?;
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
    if !matches!(dtype.descr().as_str(), "'<f4'" | "'>f4'") {
        return Err(header(format!(
            "expected float32 data ('<f4'), found {}",
            dtype.descr()
        )));
    }
    // Checked before npyz allocates: a header may claim any shape.
    let need = [n, t, d]
        .iter()
        .try_fold(4u64, |acc, &k| acc.checked_mul(k))
        .filter(|&b| b <= usize::MAX as u64);
    let have = (bytes.len() - data_start) as u64;
    if need != Some(have) {
        return Err(DataError::invalid(
            path,
            "data",
            format!(
                "file holds {have} bytes of data but shape {shape:?} of float32 needs {}",
                need.map_or("more than fit in memory".to_string(), |b| b.to_string())
            ),
        ));
    }
    let values: Vec<f32> = npy.into_vec::<f32>().map_err(|e| {
        header(format!(
            "expected float32 data ('<f4'), found {}: {e}",
            dtype.descr()
        ))
    })?;
    let (t, d) = (t as usize, d as usize);
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

    /// A version-1 file with this header text and no data.
    fn with_header(text: &str) -> Vec<u8> {
        let mut file = b"\x93NUMPY\x01\x00".to_vec();
        file.extend_from_slice(&(text.len() as u16).to_le_bytes());
        file.extend_from_slice(text.as_bytes());
        file
    }

    #[test]
    fn rejects_short_data_huge_shapes_and_nested_headers_quickly() {
        let mut file = write(&[2, 3, 2], &[0.5; 12]);
        file.truncate(file.len() - 4);
        let err = parse(&file, Path::new("a.npy")).unwrap_err().to_string();
        assert!(
            err.contains("needs 48 bytes") && err.contains("holds 44"),
            "{err}"
        );
        // A header may claim any shape; nothing is allocated for it.
        let text =
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999, 9), }";
        let err = parse(&with_header(text), Path::new("a.npy"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than fit in memory"), "{err}");
        let text =
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2), }";
        let err = parse(&with_header(text), Path::new("a.npy"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than fit in memory"), "{err}");
        // What the fuzzer found: npyz's header parser is exponential in nesting depth.
        let text = format!("{{'descr': {}'<f4'}}", "{".repeat(60));
        let err = parse(&with_header(&text), Path::new("a.npy"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("nested too deeply"), "{err}");
    }
}
