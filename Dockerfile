# The lineage API image: the package with its pinned dependency set.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY lineage ./lineage
RUN pip install --no-cache-dir -c constraints.txt '.[all]' \
 && useradd --create-home --uid 10001 lineage
USER lineage
ENV LINEAGE_HOME=/home/lineage/.lineage
EXPOSE 8000
ENTRYPOINT ["lineage"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
