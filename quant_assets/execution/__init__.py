"""Execution models: square-root impact, cost model, Almgren–Chriss scheduling,
Avellaneda–Stoikov market making and a bar-by-bar execution simulator.

Pure domain code (NumPy, SciPy, pandas); no orchestration imports.
"""

from quant_assets.execution.almgren_chriss import (
    AlmgrenChrissFrontier,
    AlmgrenChrissResult,
    almgren_chriss,
    almgren_chriss_frontier,
    trajectory_cost,
)
from quant_assets.execution.avellaneda_stoikov import (
    AvellanedaStoikovResult,
    optimal_spread,
    simulate_avellaneda_stoikov,
)
from quant_assets.execution.cost_model import (
    CostBreakdown,
    CostModel,
    allocate_with_carry,
    allocate_with_carry_reference,
)
from quant_assets.execution.impact import DEFAULT_IMPACT_Y, square_root_impact
from quant_assets.execution.session import simulate_session
from quant_assets.execution.simulator import simulate

__all__ = [
    "DEFAULT_IMPACT_Y",
    "AlmgrenChrissFrontier",
    "AlmgrenChrissResult",
    "AvellanedaStoikovResult",
    "CostBreakdown",
    "CostModel",
    "allocate_with_carry",
    "allocate_with_carry_reference",
    "almgren_chriss",
    "almgren_chriss_frontier",
    "optimal_spread",
    "simulate",
    "simulate_avellaneda_stoikov",
    "simulate_session",
    "square_root_impact",
    "trajectory_cost",
]
