namespace Kernels.Generators.Models;

/// <summary>Everything needed to emit one softmax-family kernel: data only, equatable, no symbols.</summary>
internal sealed record SoftmaxKernelInfo(
    HierarchyInfo Hierarchy,
    SoftmaxOutput Output,
    SoftmaxActivation Activation,
    TemperatureMode Temperature,
    bool Mask,
    TransformInfo? Transform);

/// <summary>A user function fused into a kernel.</summary>
/// <param name="MethodName">The static method's name on the declaring type.</param>
/// <param name="TakesColumn">Whether it takes the column index as a second parameter.</param>
/// <param name="TakesContext">Whether it also takes the element's context and the row's parameter (decode family).</param>
/// <param name="Vector">The body translated to Vector256 code, or null when it runs element by element on the CPU.</param>
internal sealed record TransformInfo(string MethodName, bool TakesColumn, bool TakesContext, VectorBody? Vector);

/// <summary>A translated body: local declarations (already formatted statements) and the result expression.</summary>
internal sealed record VectorBody(Helpers.EquatableArray<string> Statements, string Result);
