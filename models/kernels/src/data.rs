//! Host access to the f32 buffers of the CPU backends' tensors, for the fused operation.
#![allow(deprecated)] // burn's ndarray backend is deprecated upstream; it is our CPU fallback.

use std::borrow::Cow;

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Flex, NdArray, TensorMetadata};
use burn::tensor::TensorData;

/// Host access to the f32 buffers of a CPU backend's tensors.
pub trait HostData: Backend {
    /// The tensor's values in row-major order (borrowed when the tensor is contiguous f32).
    fn read(t: &FloatTensor<Self>) -> Cow<'_, [f32]>;
    /// A tensor of `shape` holding `values` (no copy).
    fn write(values: Vec<f32>, shape: Vec<usize>) -> FloatTensor<Self>;
}

fn not_f32(dtype: impl std::fmt::Debug) -> ! {
    panic!("fused operations run on f32 tensors, got {dtype:?}")
}

impl HostData for NdArray {
    fn read(t: &FloatTensor<Self>) -> Cow<'_, [f32]> {
        match t {
            burn::backend::ndarray::NdArrayTensor::F32(storage) => {
                let view = storage.view();
                match view.to_slice() {
                    Some(slice) => Cow::Borrowed(slice),
                    None => Cow::Owned(view.iter().copied().collect()),
                }
            }
            other => not_f32(other.dtype()),
        }
    }

    fn write(values: Vec<f32>, shape: Vec<usize>) -> FloatTensor<Self> {
        burn::backend::ndarray::NdArrayTensor::from_data(TensorData::new(values, shape))
    }
}

impl HostData for Flex {
    fn read(t: &FloatTensor<Self>) -> Cow<'_, [f32]> {
        match t.as_slice::<f32>() {
            Some(slice) => Cow::Borrowed(slice),
            None if t.dtype() == burn::tensor::DType::F32 => {
                Cow::Owned(t.clone().into_data().into_vec::<f32>().unwrap_or_default())
            }
            None => not_f32(t.dtype()),
        }
    }

    fn write(values: Vec<f32>, shape: Vec<usize>) -> FloatTensor<Self> {
        FloatTensor::<Flex>::from_data(TensorData::new(values, shape))
    }
}
