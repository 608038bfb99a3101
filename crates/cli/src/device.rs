//! Runtime device choice. `auto` takes wgpu only when a real GPU adapter (discrete, integrated
//! or virtual) exists, never a software rasteriser such as lavapipe; otherwise the fastest CPU
//! backend, Flex (a bench-config training step: 0.22 s on Flex against 0.30 s on ndarray on the
//! 2-core reference machine, same run; README "Speed").

use burn::prelude::*;
use burn::tensor::DeviceKind;
use clap::ValueEnum;

/// The `--device` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceChoice {
    /// wgpu on a real GPU if one exists, else Flex (the faster CPU backend).
    Auto,
    /// CPU (burn-ndarray).
    Ndarray,
    /// CPU (burn-flex: pure Rust, gemm kernels).
    Flex,
    /// wgpu (Vulkan, Metal, DX12); on a machine without GPU it runs on a software adapter.
    Wgpu,
}

/// True when wgpu reports a hardware (non-CPU) adapter on Vulkan, Metal or DX12 (never GL,
/// whose missing f32 atomics make it unsafe for burn).
fn real_gpu_present() -> bool {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::PRIMARY,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    futures_lite::future::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY))
        .iter()
        .map(wgpu::Adapter::get_info)
        .any(|info| {
            matches!(
                info.device_type,
                wgpu::DeviceType::DiscreteGpu
                    | wgpu::DeviceType::IntegratedGpu
                    | wgpu::DeviceType::VirtualGpu
            )
        })
}

/// Builds the device and names it for logs.
#[allow(deprecated)] // burn 0.22 deprecates ndarray in favour of flex; we keep it as the CPU path.
pub fn select(choice: DeviceChoice) -> (Device, &'static str) {
    match choice {
        DeviceChoice::Ndarray => (Device::ndarray(), "ndarray"),
        DeviceChoice::Flex => (Device::flex(), "flex"),
        DeviceChoice::Wgpu => (Device::wgpu(DeviceKind::DefaultDevice), "wgpu"),
        DeviceChoice::Auto if real_gpu_present() => {
            (Device::wgpu(DeviceKind::DefaultDevice), "wgpu")
        }
        DeviceChoice::Auto => (Device::flex(), "flex"),
    }
}
