from ..models import Category
from . import reference_cache


def rebuild_paths() -> None:
    """Recompute every category's full name, depth and tree sort key (the tree is small)."""
    nodes = {c.pk: c for c in Category.objects.all()}
    children: dict[int | None, list[Category]] = {}
    for node in nodes.values():
        children.setdefault(node.parent_id, []).append(node)

    changed = []

    def walk(parent_id, prefix_path, prefix_key, depth):
        for node in sorted(children.get(parent_id, []), key=lambda c: (c.sort_order, c.name)):
            path = f"{prefix_path} / {node.name}" if prefix_path else node.name
            key = f"{prefix_key}{node.sort_order:05d}{node.code}/"
            if (node.path, node.sort_key, node.depth) != (path, key, depth):
                node.path, node.sort_key, node.depth = path, key, depth
                changed.append(node)
            walk(node.pk, path, key, depth + 1)

    walk(None, "", "", 0)
    Category.objects.bulk_update(changed, ["path", "sort_key", "depth"])
    if changed:
        reference_cache.changed()
