//! Runtime device choice. `auto` takes CUDA when this binary has it (the `cuda` feature) and an
//! NVIDIA driver answers, then wgpu when a real GPU adapter (discrete, integrated or virtual)
//! exists, never a software rasteriser such as lavapipe; otherwise the fastest CPU backend,
//! Flex (a bench-config training step: 0.22 s on Flex against 0.30 s on ndarray on the 2-core
//! reference machine, same run; README "Speed").

use std::sync::Mutex;

use burn::prelude::*;
use burn::tensor::DeviceKind;
use clap::ValueEnum;

/// The GPU devices this process started, to be synced before it ends ([`finish`]).
static STARTED: Mutex<Vec<Device>> = Mutex::new(Vec::new());

/// Waits for every kernel the process's GPU devices were given. A process that ends with work
/// in flight can crash at exit on lavapipe (SRNN training on wgpu: 3 of 4 runs ended in
/// SIGSEGV after printing their result; 0 of 6 after this), so `main` calls it before
/// returning, whatever the command's outcome.
pub fn finish() -> anyhow::Result<()> {
    let devices = std::mem::take(&mut *STARTED.lock().unwrap_or_else(|e| e.into_inner()));
    for device in devices {
        device
            .sync()
            .map_err(|e| anyhow::anyhow!("the device failed to finish its work: {e:?}"))?;
    }
    Ok(())
}

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
    /// CUDA (burn's CUDA backend; the driver is loaded at run time). Needs a binary built with
    /// `--features cuda`.
    Cuda,
}

/// What a binary without the `cuda` feature says to `--device cuda`.
#[cfg(not(feature = "cuda"))]
const NO_CUDA_BUILD: &str = "--device cuda: this neuromod was built without CUDA; rebuild it \
                             with `cargo build --release -p neuromod-cli --features cuda`, or use \
                             --device wgpu or flex";

/// The CUDA device, started once per process: a machine without an NVIDIA driver (cudarc
/// cannot load libcuda) or without a device gives an error naming it, not a panic. Later calls
/// return the same device or the same error.
#[cfg(feature = "cuda")]
fn cuda_device() -> anyhow::Result<Device> {
    static CUDA: std::sync::OnceLock<Result<Device, String>> = std::sync::OnceLock::new();
    CUDA.get_or_init(|| {
        started(
            || Device::cuda(0),
            "--device cuda: no usable NVIDIA GPU (the CUDA driver, libcuda, could not be loaded \
             or found no device); install the NVIDIA driver, or use --device wgpu or flex",
        )
        .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(anyhow::Error::msg)
}

/// Whether CUDA can be had (a driver and a device), for `auto`. In a build with the `cuda`
/// feature this starts the CUDA device (once): there is no cheaper way to know that it works.
fn cuda_available() -> bool {
    #[cfg(feature = "cuda")]
    {
        cuda_device().is_ok()
    }
    #[cfg(not(feature = "cuda"))]
    {
        false
    }
}

/// Builds a device with `make` and runs one tiny operation on it, with the drivers' stderr
/// noise kept out and a panic (a driver that fails to load or start) turned into an error
/// saying `what`, followed by the panic's message.
fn started(make: impl FnOnce() -> Device, what: &str) -> anyhow::Result<Device> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = quiet_stderr(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let device = make();
            let _ = Tensor::<1>::zeros([1], &device).into_data();
            device
        }))
    });
    std::panic::set_hook(hook);
    if let Ok(device) = &result {
        STARTED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(device.clone());
    }
    result.map_err(|payload| {
        let why = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("unknown cause");
        anyhow::anyhow!("{what} ({why})")
    })
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
    started(
        || Device::wgpu(DeviceKind::DefaultDevice),
        "--device wgpu: the GPU device failed to start",
    )
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
/// Metal or DX12 adapter, or `cuda` without an NVIDIA driver (or in a binary built without
/// CUDA), is an error saying what to install, not a panic. Only `wgpu`, `cuda` and `auto` probe
/// the drivers.
#[allow(deprecated)] // burn 0.22 deprecates ndarray in favour of flex; we keep it as the fallback.
pub fn select(choice: DeviceChoice) -> anyhow::Result<(Device, &'static str)> {
    Ok(match choice {
        DeviceChoice::Ndarray => (Device::ndarray(), "ndarray"),
        DeviceChoice::Flex => (Device::flex(), "flex"),
        DeviceChoice::Wgpu => {
            probe(choice)?; // a driver, or the error saying what to install
            (wgpu_device()?, "wgpu")
        }
        #[cfg(feature = "cuda")]
        DeviceChoice::Cuda => (cuda_device()?, "cuda"),
        #[cfg(not(feature = "cuda"))]
        DeviceChoice::Cuda => anyhow::bail!(NO_CUDA_BUILD),
        #[cfg(feature = "cuda")]
        DeviceChoice::Auto if cuda_available() => (cuda_device()?, "cuda"),
        DeviceChoice::Auto if adapters().iter().any(is_gpu) => (wgpu_device()?, "wgpu"),
        DeviceChoice::Auto => (Device::flex(), "flex"),
    })
}

/// The name [`select`] would give `choice`, found without starting a wgpu device (for a
/// parent that only hands the name to child processes: a lavapipe device started in the parent
/// made its children crash). `auto` in a build with the `cuda` feature does start CUDA, to know
/// whether it works.
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
        #[cfg(not(feature = "cuda"))]
        DeviceChoice::Cuda => anyhow::bail!(NO_CUDA_BUILD),
        #[cfg(feature = "cuda")]
        DeviceChoice::Cuda => "cuda",
        DeviceChoice::Auto if cuda_available() => "cuda",
        DeviceChoice::Auto if adapters().iter().any(is_gpu) => "wgpu",
        DeviceChoice::Auto => "flex",
    })
}

/// The name [`select`] gives `choice` (what reports print and child processes take).
pub fn name(choice: DeviceChoice) -> anyhow::Result<&'static str> {
    select(choice).map(|(_, name)| name)
}
