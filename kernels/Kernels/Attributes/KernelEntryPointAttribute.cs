using System;

namespace Kernels;

/// <summary>Marks a generated ILGPU kernel entry point (explicitly grouped), so tools can find and compile every kernel (PTX, tests).</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class KernelEntryPointAttribute : Attribute
{
}
