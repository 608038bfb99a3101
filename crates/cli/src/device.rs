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

/// The adapters wgpu finds on Vulkan, Metal or DX12 (never GL, whose missing f32 atomics make
/// it unsafe for burn, and whose absence of a driver makes wgpu panic). The drivers' own
/// complaints on stderr during the probe (Mesa prints "XDG_RUNTIME_DIR is invalid" on a
/// headless machine) are kept out of the product's output.
fn adapters() -> Vec<wgpu::AdapterInfo> {
    quiet_stderr(|| {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::PRIMARY,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        futures_lite::future::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY))
            .iter()
            .map(wgpu::Adapter::get_info)
            .collect()
    })
}

/// Runs `f` with file descriptor 2 pointed at /dev/null (Unix; elsewhere it just runs `f`).
fn quiet_stderr<T>(f: impl FnOnce() -> T) -> T {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
            return f();
        };
        // SAFETY: plain descriptor calls; fd 2 is restored before returning.
        let saved = unsafe { libc::dup(2) };
        if saved < 0 {
            return f();
        }
        unsafe { libc::dup2(null.as_raw_fd(), 2) };
        let out = f();
        unsafe {
            libc::dup2(saved, 2);
            libc::close(saved);
        }
        out
    }
    #[cfg(not(unix))]
    {
        f()
    }
}

/// The default wgpu device, initialised at once with the drivers' stderr noise kept out (burn
/// opens the adapter on first use; afterwards nothing enumerates the drivers again). A device
/// that fails to start is an error carrying wgpu's message, not a panic lost with stderr.
fn wgpu_device() -> anyhow::Result<Device> {
    let device = Device::wgpu(DeviceKind::DefaultDevice);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let started = quiet_stderr(|| {
        std::panic::catch_unwind(|| {
            let _ = Tensor::<1>::zeros([1], &device).into_data();
        })
    });
    std::panic::set_hook(hook);
    started.map_err(|payload| {
        let why = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("unknown cause");
        anyhow::anyhow!("--device wgpu: the GPU device failed to start: {why}")
    })?;
    Ok(device)
}

/// True for a hardware (discrete, integrated or virtual) GPU, not a CPU rasteriser.
fn is_gpu(info: &wgpu::AdapterInfo) -> bool {
    matches!(
        info.device_type,
        wgpu::DeviceType::DiscreteGpu
            | wgpu::DeviceType::IntegratedGpu
            | wgpu::DeviceType::VirtualGpu
    )
}

/// Builds the device and names it for logs. `wgpu` asked for on a machine with no Vulkan,
/// Metal or DX12 adapter is an error saying what to install, not a panic from wgpu's GL
/// fallback. Only `wgpu` and `auto` probe the graphics drivers.
#[allow(deprecated)] // burn 0.22 deprecates ndarray in favour of flex; we keep it as the fallback.
pub fn select(choice: DeviceChoice) -> anyhow::Result<(Device, &'static str)> {
    Ok(match choice {
        DeviceChoice::Ndarray => (Device::ndarray(), "ndarray"),
        DeviceChoice::Flex => (Device::flex(), "flex"),
        DeviceChoice::Wgpu => {
            if adapters().is_empty() {
                anyhow::bail!(
                    "--device wgpu: no Vulkan, Metal or DX12 adapter found. Install a GPU driver \
                     (on Linux without a GPU, Mesa's software one: apt-get install \
                     mesa-vulkan-drivers libvulkan1), or use --device flex"
                );
            }
            (wgpu_device()?, "wgpu")
        }
        DeviceChoice::Auto if adapters().iter().any(is_gpu) => (wgpu_device()?, "wgpu"),
        DeviceChoice::Auto => (Device::flex(), "flex"),
    })
}

/// The name [`select`] would give `choice`, found without starting a device (for a parent
/// that only hands the name to child processes: a started wgpu device in the parent is one
/// more client of the driver while the children run).
pub fn probe(choice: DeviceChoice) -> anyhow::Result<&'static str> {
    Ok(match choice {
        DeviceChoice::Ndarray => "ndarray",
        DeviceChoice::Flex => "flex",
        DeviceChoice::Wgpu if adapters().is_empty() => {
            anyhow::bail!(
                "--device wgpu: no Vulkan, Metal or DX12 adapter found. Install a GPU driver \
                 (on Linux without a GPU, Mesa's software one: apt-get install \
                 mesa-vulkan-drivers libvulkan1), or use --device flex"
            )
        }
        DeviceChoice::Wgpu => "wgpu",
        DeviceChoice::Auto if adapters().iter().any(is_gpu) => "wgpu",
        DeviceChoice::Auto => "flex",
    })
}

/// The name [`select`] gives `choice` (what reports print and child processes take).
pub fn name(choice: DeviceChoice) -> anyhow::Result<&'static str> {
    select(choice).map(|(_, name)| name)
}
