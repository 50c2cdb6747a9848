using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace Kernels.Benchmarks.Suite;

/// <summary>
/// Runs a plain BenchmarkDotNet class (public <c>[Benchmark]</c> methods, <c>[Params]</c>, <c>[GlobalSetup]</c> that
/// verifies, <c>[GlobalCleanup]</c>) inside the suite, for families that have no <see cref="KernelFamilyBenchmark"/>:
/// family = the first <c>[BenchmarkCategory]</c> or the class name without "Benchmarks"; backend = the value of a
/// <c>Backend</c> parameter or <c>cpu</c>; shape = the other parameters; bytes = a static <c>BytesMoved(string shape[, string method])</c>
/// when the class has one; the <c>[Benchmark(Baseline = true)]</c> method is the baseline.
/// </summary>
public static class BenchmarkDotNetFamily
{
    /// <summary>Family name of a BenchmarkDotNet class.</summary>
    public static string FamilyOf(Type type)
    {
        string? category = type.GetCustomAttribute<BenchmarkCategoryAttribute>()?.Categories.FirstOrDefault();
        string name = category ?? (type.Name.EndsWith("Benchmarks", StringComparison.Ordinal) ? type.Name[..^"Benchmarks".Length] : type.Name);
        return name.ToLowerInvariant();
    }

    /// <summary>BenchmarkDotNet classes in this assembly whose family is not in <paramref name="covered"/>.</summary>
    public static IReadOnlyList<Type> Discover(IEnumerable<string> covered)
    {
        var skip = new HashSet<string>(covered, StringComparer.OrdinalIgnoreCase);
        return typeof(BenchmarkDotNetFamily).Assembly.GetTypes()
            .Where(t => t.IsClass && t.IsPublic && !t.IsAbstract && !t.ContainsGenericParameters && t.GetConstructor(Type.EmptyTypes) is not null)
            .Where(t => Benchmarks(t).Any() && !skip.Contains(FamilyOf(t)))
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
    }

    private static IEnumerable<MethodInfo> Benchmarks(Type type) =>
        type.GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null && m.GetParameters().Length == 0);

    private static IEnumerable<MethodInfo> Marked<T>(Type type) where T : Attribute =>
        type.GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.GetCustomAttribute<T>() is not null && m.GetParameters().Length == 0);

    /// <summary>Runs every parameter combination (the first value of each in smoke mode, the first two in quick mode).</summary>
    public static IEnumerable<ResultRecord> Run(Type type, SuiteMode mode, Func<string, bool> matches, Action<string> log)
    {
        string family = FamilyOf(type);
        var parameters = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (Member: (MemberInfo)p, Attribute: p.GetCustomAttribute<ParamsAttribute>(), Type: p.PropertyType))
            .Concat(type.GetFields(BindingFlags.Public | BindingFlags.Instance)
                .Select(f => (Member: (MemberInfo)f, Attribute: f.GetCustomAttribute<ParamsAttribute>(), Type: f.FieldType)))
            .Where(p => p.Attribute is not null)
            .Select(p => (p.Member, Values: p.Attribute!.Values.Take(mode switch { SuiteMode.Smoke => 1, SuiteMode.Quick => 2, _ => int.MaxValue }).ToArray()))
            .ToList();
        IEnumerable<(MemberInfo Member, object? Value)[]> combinations = [[]];
        foreach (var p in parameters)
            combinations = combinations.SelectMany(c => p.Values.Select(v => c.Append((p.Member, v)).ToArray()));

        var methods = Benchmarks(type).ToList();
        foreach (var combination in combinations)
        {
            string backend = combination.FirstOrDefault(c => c.Member.Name == "Backend").Value?.ToString()?.ToLowerInvariant() ?? "cpu";
            var shapeParts = combination.Where(c => c.Member.Name != "Backend").ToList();
            string shape = shapeParts.Count switch
            {
                0 => "default",
                1 => Convert.ToString(shapeParts[0].Value, CultureInfo.InvariantCulture) ?? "",
                _ => string.Join(",", shapeParts.Select(c => $"{c.Member.Name}={Convert.ToString(c.Value, CultureInfo.InvariantCulture)}")),
            };
            var selected = methods.Where(m => matches($"{family}/{m.Name}/{backend}/{shape}")
                || (m.GetCustomAttribute<BenchmarkAttribute>()!.Baseline && methods.Any(o => matches($"{family}/{o.Name}/{backend}/{shape}")))).ToList();
            if (selected.Count == 0) continue;

            object instance = Activator.CreateInstance(type)!;
            var results = new List<ResultRecord>();
            try
            {
                foreach (var (member, value) in combination)
                {
                    if (member is PropertyInfo property) property.SetValue(instance, value);
                    else ((FieldInfo)member).SetValue(instance, value);
                }
                foreach (var setup in Marked<GlobalSetupAttribute>(type)) setup.Invoke(instance, null);
                foreach (var method in selected)
                {
                    bool baseline = method.GetCustomAttribute<BenchmarkAttribute>()!.Baseline;
                    string id = $"{family}/{method.Name}/{(baseline ? "host" : backend)}/{shape}";
                    var action = (Action)(() => method.Invoke(instance, null));
                    action(); // JIT, compile
                    var times = SuiteRunner.Time(action, mode);
                    var stats = Statistics.Of(times);
                    long bytes = BytesMoved.Of(type, shape, method.Name) ?? 0;
                    double? gbps = bytes > 0 ? bytes / (stats.Median * 1e6) : null;
                    log(string.Create(CultureInfo.InvariantCulture, $"  {id,-50} {stats.Median,10:F3} ms ±{100 * stats.Spread,4:F0}%"));
                    results.Add(new ResultRecord(id, family, method.Name, baseline ? "baseline" : "kernel", baseline ? "host" : backend, shape, "fp32",
                        "ok", times.Length, SuiteRunner.Significant(stats.Median), SuiteRunner.Significant(stats.Min), SuiteRunner.Significant(stats.Max),
                        Math.Round(stats.Spread, 3), bytes, gbps is { } g ? SuiteRunner.Significant(g) : null, null, null, null, null, null));
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                var inner = e is TargetInvocationException { InnerException: { } i } ? i : e;
                log($"  {family}/{backend}/{shape}: FAILED: {inner.Message.Split('\n')[0]}");
                results.Add(new ResultRecord($"{family}/*/{backend}/{shape}", family, "*", "kernel", backend, shape, "fp32", "failed", 0,
                    null, null, null, null, 0, null, null, null, null, null, inner.Message.Split('\n')[0]));
            }
            finally
            {
                foreach (var cleanup in Marked<GlobalCleanupAttribute>(type))
                {
                    try { cleanup.Invoke(instance, null); }
                    catch (TargetInvocationException) { }
                }
            }
            foreach (var r in results) yield return r;
        }
    }
}
