namespace Kernels.Runtime;

/// <summary>The places a kernel can run.</summary>
public enum Backend
{
    /// <summary>The generated vectorised, multi-threaded C# kernels (<c>cpu</c>). Always present.</summary>
    Cpu,

    /// <summary>ILGPU's CPU accelerator running the GPU kernel (<c>ilgpu-cpu</c>): an emulator for verification, never picked automatically.</summary>
    IlgpuCpu,

    /// <summary>ILGPU's OpenCL backend (<c>opencl</c>).</summary>
    OpenCL,

    /// <summary>ILGPU's CUDA backend (<c>cuda</c>).</summary>
    Cuda,
}

/// <summary>Names of backends as used by <c>KERNELS_BACKEND</c> and the CLI.</summary>
public static class BackendNames
{
    /// <summary>The environment variable that overrides the automatic choice.</summary>
    public const string EnvironmentVariable = "KERNELS_BACKEND";

    /// <summary>The environment variable that enables OpenCL devices without generic address space (PoCL 3.x).</summary>
    public const string OpenClCompatibilityVariable = "KERNELS_OPENCL_COMPAT";

    /// <summary>The lower-case name of a backend.</summary>
    public static string ToName(this Backend backend) => backend switch
    {
        Backend.Cpu => "cpu",
        Backend.IlgpuCpu => "ilgpu-cpu",
        Backend.OpenCL => "opencl",
        Backend.Cuda => "cuda",
        _ => backend.ToString(),
    };

    /// <summary>Parses a backend name (case-insensitive); returns false for an unknown name.</summary>
    public static bool TryParse(string? name, out Backend backend)
    {
        switch (name?.Trim().ToLowerInvariant())
        {
            case "cpu": backend = Backend.Cpu; return true;
            case "ilgpu-cpu": backend = Backend.IlgpuCpu; return true;
            case "opencl": backend = Backend.OpenCL; return true;
            case "cuda": backend = Backend.Cuda; return true;
            default: backend = default; return false;
        }
    }
}
