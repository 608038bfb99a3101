//! Activations for host loops, written so the compiler vectorises them: a polynomial exp (the
//! Cephes single-precision one, about 1 ulp), and sigmoid and tanh built on it.

/// e^x for x in about [-87, 88] (clamped outside), vectorisable.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_2e-4;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // 2^n from the bits of n + 127 + 2^23 (n is an integer in [-126, 127]): no float-to-int
    // conversion, so the loop vectorises.
    y * f32::from_bits((n + 8_388_735.0).to_bits() << 23)
}

/// Logistic sigmoid 1 / (1 + e^-x).
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// tanh x = 1 - 2 / (e^{2x} + 1).
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_sigmoid_and_tanh_match_the_standard_library() {
        let mut worst = [0f64; 3];
        for i in -20000..=20000 {
            let x = i as f32 * 0.004; // [-80, 80]
            let rel = (exp(x) as f64 - (x as f64).exp()).abs() / (x as f64).exp();
            worst[0] = worst[0].max(rel);
            let s = 1.0 / (1.0 + (-(x as f64)).exp());
            worst[1] = worst[1].max((sigmoid(x) as f64 - s).abs());
            worst[2] = worst[2].max((tanh(x) as f64 - (x as f64).tanh()).abs());
        }
        assert!(worst[0] < 4e-7, "exp relative error {}", worst[0]);
        assert!(worst[1] < 2e-7, "sigmoid error {}", worst[1]);
        assert!(worst[2] < 4e-7, "tanh error {}", worst[2]);
        // Saturation far outside the clamp.
        assert!(sigmoid(-1000.0) < 1e-37 && sigmoid(1000.0) == 1.0);
        assert!(tanh(1000.0) == 1.0 && tanh(-1000.0) == -1.0);
    }
}
