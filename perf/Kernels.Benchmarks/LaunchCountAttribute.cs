using System;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Jobs;

namespace Kernels.Benchmarks;

/// <summary>
/// Runs each case of a class in <paramref name="count"/> processes (BenchmarkDotNet 0.15 has no attribute for it): the
/// statistics then span process-level variation, such as where a process's buffers land in memory.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class LaunchCountAttribute(int count) : JobMutatorConfigBaseAttribute(Job.Default.WithLaunchCount(count));
