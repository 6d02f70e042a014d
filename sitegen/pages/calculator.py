"""Numbers on the calculator page."""

from sitegen.figures import t
from snippets.calculator import CalculatorInputs, calculator_rows

# the page's DeepLab preset link: padding 6 suits the dilated row (d = 6) only
DEEPLAB = dict(batch=1, height=33, width=33, in_channels=2048, out_channels=256, kernel_size=3,
               stride=1, padding=6, dilation=6, groups=1, output_padding=0, num_kernels=4,
               reduction=4, bias=True)


def deeplab_caveat(lang: str) -> str:
    """Why "÷ standard" compares unlike layers for the DeepLab preset."""
    rows = calculator_rows(CalculatorInputs(**DEEPLAB))
    std, dil = rows["standard"].shape[-1], rows["dilated"].shape[-1]
    p, d = DEEPLAB["padding"], DEEPLAB["dilation"]
    return t(lang,
             f"注意 DeepLab 这一组：所有行共用同一个填充，而 $p = {p}$ 是为空洞率 $d = {d}$ 选的。"
             f"空洞卷积一行保持 {dil}×{dil}，标准卷积一行用同样的填充却得到 {std}×{std}，"
             f"所以这里的“÷ 标准”比较的是输出大小不同的两层；要比较同样大小的输出，把填充改成 1 再看标准卷积一行。",
             f"Note the DeepLab link: every row shares one padding, and $p = {p}$ suits dilation "
             f"$d = {d}$ only. The dilated row keeps {dil}×{dil}, while the standard row with the "
             f"same padding gives {std}×{std}, so its \"÷ standard\" compares layers with "
             f"different output sizes; to compare like with like, set the padding to 1 and read "
             f"the standard row again.")
