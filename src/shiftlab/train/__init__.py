"""Fine-tuning: recipes (registry), augmentations, the engine, and the resumable loop.

Import submodules directly (`shiftlab.train.loop`, `shiftlab.train.recipes`); this package
init stays import-light so the CLI can start without torch.
"""

from shiftlab.train.recipes import Recipe, create_recipe, list_recipes, register_recipe

__all__ = ["Recipe", "create_recipe", "list_recipes", "register_recipe"]
