from ..models import Category
from . import reference_cache


def rebuild_paths() -> None:
    """Recompute every category's full names (Chinese and English), depth and tree sort key
    (the tree is small)."""
    nodes = {c.pk: c for c in Category.objects.all()}
    children: dict[int | None, list[Category]] = {}
    for node in nodes.values():
        children.setdefault(node.parent_id, []).append(node)

    changed = []

    def walk(parent_id, prefix_path, prefix_en, prefix_key, depth):
        for node in sorted(children.get(parent_id, []), key=lambda c: (c.sort_order, c.name)):
            path = f"{prefix_path} / {node.name}" if prefix_path else node.name
            # The English full name falls back to the Chinese name of a level without one.
            name_en = node.name_en or node.name
            path_en = f"{prefix_en} / {name_en}" if prefix_en else name_en
            key = f"{prefix_key}{node.sort_order:05d}{node.code}/"
            if (node.path, node.path_en, node.sort_key, node.depth) != (path, path_en, key, depth):
                node.path, node.path_en, node.sort_key, node.depth = path, path_en, key, depth
                changed.append(node)
            walk(node.pk, path, path_en, key, depth + 1)

    walk(None, "", "", "", 0)
    Category.objects.bulk_update(changed, ["path", "path_en", "sort_key", "depth"])
    if changed:
        reference_cache.changed()
