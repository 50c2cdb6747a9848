using Kernels.Generators.Helpers;
using Kernels.Generators.Models;
using Kernels.Generators.Translation;

namespace Kernels.Generators;

/// <summary>Pieces every family emits the same way: the attribute line and the fused element transform.</summary>
internal static class Generated
{
    public const string Version = "0.1.0";

    public const string CodeAttribute = "[global::System.CodeDom.Compiler.GeneratedCode(\"Kernels.Generators\", \"" + Version + "\")]";

    public const string TransformName = "GeneratedTransform";

    private const string Vector = "global::System.Runtime.Intrinsics.Vector256";

    /// <summary>
    /// The <c>ILogitTransform</c> struct: the scalar form calls the user function (ILGPU inlines it into the kernel),
    /// the vector form is the translated body, or an element-by-element loop when the body is outside the subset.
    /// </summary>
    public static void WriteTransform(IndentedWriter w, string owner, TransformInfo? transform)
    {
        w.Line("/// <summary>The element transform fused into this kernel (generated).</summary>");
        w.Line(CodeAttribute);
        w.Open($"public readonly struct {TransformName} : global::Kernels.ILogitTransform");
        if (transform is null)
        {
            w.Line("/// <inheritdoc/>");
            w.Line("public float Apply(float x, int column) => x;");
            w.Line("/// <inheritdoc/>");
            w.Line($"public {Vector}<float> Apply({Vector}<float> x, {Vector}<int> columns) => x;");
            w.Close();
            return;
        }

        string call = transform.TakesColumn ? $"{owner}.{transform.MethodName}(x, column)" : $"{owner}.{transform.MethodName}(x)";
        w.Line("/// <inheritdoc/>");
        w.Line($"public float Apply(float x, int column) => {call};");
        w.Line("/// <inheritdoc/>");
        w.Open($"public {Vector}<float> Apply({Vector}<float> {VectorTranslator.XName}, {Vector}<int> {VectorTranslator.ColumnsName})");
        if (transform.Vector is { } body)
        {
            foreach (var statement in body.Statements)
                w.Line(statement);
            w.Line($"return {body.Result};");
        }
        else
        {
            w.Line("global::System.Span<float> lanes = stackalloc float[8];");
            w.Line("for (int i = 0; i < 8; i++)");
            w.Line($"    lanes[i] = Apply({Vector}.GetElement(x, i), {Vector}.GetElement(columns, i));");
            w.Line($"return {Vector}.Create<float>(lanes);");
        }
        w.Close();
        w.Close();
    }
}
