using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using NUnit.Framework;

namespace Kernels.Tests.Ptx;

/// <summary>
/// Every ILGPU kernel (every method marked [KernelEntryPoint], in the library and in these tests) compiles to PTX for
/// sm_80 and sm_90 — no GPU needed. <c>KERNELS_PTX_OUT=dir</c> also writes each .ptx there (the GPU check assembles them).
/// </summary>
public sealed class PtxTests
{
    private static readonly Assembly[] s_assemblies = { typeof(SoftmaxKernel).Assembly, typeof(PtxTests).Assembly };

    public static IEnumerable<TestCaseData> EntryPoints =>
        from assembly in s_assemblies
        from type in assembly.GetTypes()
        from method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly)
        where method.GetCustomAttribute<KernelEntryPointAttribute>() is not null
        from arch in new[] { "sm_80", "sm_90" }
        select new TestCaseData(method, arch).SetArgDisplayNames($"{type.FullName}.{method.Name}", arch);

    [Test]
    public void TheLibraryHasKernels() => Assert.That(EntryPoints.Count(), Is.GreaterThanOrEqualTo(12));

    [TestCaseSource(nameof(EntryPoints))]
    public void CompilesToPtx(MethodInfo method, string arch)
    {
        var architecture = arch == "sm_80" ? CudaArchitecture.SM_80 : CudaArchitecture.SM_90;
        using var context = Context.Create(builder => Kernels.Runtime.KernelRuntime.Configure(builder));
        using var backend = new PTXBackend(context, architecture, CudaInstructionSet.ISA_78, null!);
        var kernel = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), KernelSpecialization.Empty);
        string ptx = kernel.PTXAssembly;
        string? dir = Environment.GetEnvironmentVariable("KERNELS_PTX_OUT");
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, $"{method.DeclaringType!.FullName}.{method.Name}.{arch}.ptx"), ptx);
        }
        // ILGPU targets the lowest architecture that has the capabilities the kernel uses (PTX is forward compatible),
        // so an sm_90 compilation may carry ".target sm_80"; it never targets above the requested architecture.
        var target = System.Text.RegularExpressions.Regex.Match(ptx, @"\.target sm_(\d+)");
        Assert.That(target.Success, "PTX names its target");
        Assert.That(int.Parse(target.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), Is.InRange(50, int.Parse(arch[3..], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(ptx, Does.Contain(".entry"));
        // Rotary embedding turns each pair on its own (Rope), and HyperAttention's hash and row moves take one thread per
        // row or element: they have no group reductions to synchronise.
        if (method.DeclaringType != typeof(Rope) && method.DeclaringType != typeof(HyperAttentionDevice))
            Assert.That(ptx, Does.Contain("bar.sync"), "group reductions synchronise");

    }
}
